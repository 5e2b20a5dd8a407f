// Package sqlitemessaging is a messaging.Store in a SQLite file (the
// pure-Go modernc.org/sqlite): the embedded default of the local run, in the
// same file as the position history and the alerts (its own msg_* tables,
// created at Open).
//
// Writes go through one writer connection per process in IMMEDIATE
// transactions, so that SQLite's lock (with a busy timeout) serialises the
// processes sharing the file: a Mark's guarded UPDATE and Expire's
// UPDATE ... RETURNING change a recipient for one caller only. Times are
// kept as Unix nanoseconds (of microsecond times, see messaging.Stamp).
package sqlitemessaging
