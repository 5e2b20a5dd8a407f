// Package memory is the in-memory Broadcaster: the reference implementation of
// the contract, used by unit tests and as the simplest backend. Several
// Broadcasters sharing one Backend behave like replicas sharing one broker;
// they are tracking.StateStores and tracking.Mailboxes too (Post delivers
// synchronously to the Listens of every replica of the Backend).
package memory
