// Package sqlitealerting is an alerting.Store in a SQLite file (the pure-Go
// modernc.org/sqlite): the embedded default of the local run, in the same
// file as the position history (its own alert_* tables, created at Open).
//
// Writes go through one writer connection per process in IMMEDIATE
// transactions, so that SQLite's lock (with a busy timeout) serialises the
// processes sharing the file: a Lease's UPDATE ... RETURNING, guarded by the
// delivery being due and not leased, hands a delivery to one process only.
// Times keep nanoseconds.
package sqlitealerting
