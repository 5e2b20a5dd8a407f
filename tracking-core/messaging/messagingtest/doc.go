// Package messagingtest is the conformance suite of messaging.Store: every
// backend runs Run through a thin test of its own (sqlitemessaging on a temp
// file, pgmessaging on a real PostgreSQL server), each case on a fresh store,
// in parallel.
package messagingtest
