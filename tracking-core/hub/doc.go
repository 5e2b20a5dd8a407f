// Package hub fans positions out to the managers connected to this replica.
//
// A Hub holds one broker subscription per team that at least one local manager
// watches, and none for other teams, so a replica's broker intake follows its
// managers. Each manager has a Queue: bounded, never blocking the broker's
// delivery goroutine, and when the manager falls behind it keeps only the latest
// position of each worker. A position's bytes are serialised once, upstream, and
// shared by every queue.
package hub
