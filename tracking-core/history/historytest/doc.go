// Package historytest is the conformance suite of history.Store: every
// backend runs Run through a thin test of its own (sqlitehistory on a temp
// file, pghistory on a real PostgreSQL server), each case on a fresh store.
package historytest
