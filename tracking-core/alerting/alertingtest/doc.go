// Package alertingtest is the conformance suite of alerting.Store: every
// backend runs Run through a thin test of its own (sqlitealerting on a temp
// file, pgalerting on a real PostgreSQL server), each case on a fresh store.
package alertingtest
