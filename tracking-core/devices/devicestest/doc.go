// Package devicestest is the conformance suite of devices.Store: every
// backend runs Run through a thin test of its own (sqlitedevices on a temp
// file, pgdevices on a real PostgreSQL server), each case on a fresh store,
// in parallel.
package devicestest
