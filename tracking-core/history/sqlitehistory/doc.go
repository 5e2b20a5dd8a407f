// Package sqlitehistory is a history.Store in one SQLite file (the pure-Go
// modernc.org/sqlite, no cgo): the embedded default of the one-command local
// run. Time partitions are tables, one per UTC day (positions_YYYYMMDD);
// Prune drops whole tables. The file is in WAL mode: queries read while one
// writer writes (writes are serialised, also between processes sharing the
// file, by SQLite's lock and a busy timeout). Times keep nanoseconds.
package sqlitehistory
