// Package sqlitedevices is a devices.Store in a SQLite file (the pure-Go
// modernc.org/sqlite): the embedded default of the local run, in the same
// file as the position history, the alerts and the messages (its own dev_*
// table, created at Open).
//
// Writes go through one writer connection per process in IMMEDIATE
// transactions, so that SQLite's lock (with a busy timeout) serialises the
// processes sharing the file: a Put reads and then inserts or updates under
// that lock, so of concurrent Puts of one new id one creates. Ids are TEXT
// with SQLite's default BINARY collation (byte order, as Go compares). Times
// are kept as Unix nanoseconds (of microsecond times, see devices.Stamp).
package sqlitedevices
