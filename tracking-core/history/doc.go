// Package history is the durable position history: the Store contract
// (history.go) that every backend implements and runs the conformance suite
// of historytest against, the Writer that takes accepted records off the live
// path into a Store in batches (writer.go), the retention loop (retention.go)
// and the output formats of a history query: JSON, GeoJSON and GPX
// (format_*.go).
//
// Backends: sqlitehistory (pure Go SQLite: the embedded default of the
// one-command local run) and pghistory (PostgreSQL, pgx). historydb.Open
// picks one by the DSN's scheme; it lives in its own package because it
// imports both backends, which import this one.
package history
