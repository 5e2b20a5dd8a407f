// Package presence tells a team's managers whether each worker is online
// (sending), idle (connected, no position for IdleAfter) or offline
// (disconnected, or silent for OfflineAfter), and why: it publishes a status
// message (tracking.KindStatus, see wire.StatusChange) on the team's stream
// at each change, so that every replica's managers see it, in the snapshot
// too (Broadcaster.Last keeps each worker's newest).
//
// The replica holding a worker's connection reports its statuses; each
// connection is a session, and a status of a newer session supersedes
// those of older ones, so the replica a worker left reporting "offline,
// replaced" after the one it moved to reported "online" changes nothing
// (the hub drops it; Last keeps the newer). A WebSocket is one session,
// ended by its close with a reason. Workers that post (a long NDJSON body,
// or a phone posting each fix) are tracked by their fixes: on this replica
// one session per worker lasts from its first record until it has been
// silent for OfflineAfter; the end of a POST body ends nothing.
//
// One sweeper goroutine per replica checks every session once per Sweep
// for idleness and silence: no timer per connection.
package presence
