// Package memory is the in-memory Broadcaster: the reference implementation of
// the contract, used by unit tests and as the simplest backend. Several
// Broadcasters sharing one Backend behave like replicas sharing one broker.
package memory
