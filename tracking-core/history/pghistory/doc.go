// Package pghistory is a history.Store on PostgreSQL (pgx v5).
//
// One table, <schema>.positions, declaratively partitioned by range on the
// fix time, one partition per UTC day (positions_pYYYYMMDD). Open migrates
// (idempotent CREATE ... IF NOT EXISTS under an advisory lock, so replicas
// may start together) and creates the partitions of today and the next days
// ahead; a write into a day without a partition (a late fix) creates it
// first. A batch is encoded by hand in COPY's binary format (no per-row
// allocation) and COPYed straight into the partitioned table, one statement
// in autocommit; only if that COPY meets the primary key (a retry of a batch
// that had committed, a record twice in a batch) is the batch written again
// through a per-connection temporary staging table and INSERT ... SELECT ...
// ON CONFLICT DO NOTHING: writes are idempotent on the primary key (team,
// worker, fix time, id), which also serves the per-worker queries in their
// order; one more index, (team, fix time, worker, id), serves the whole-team
// ones. Connections run with synchronous_commit off unless the DSN sets it: a
// crash of the server may lose the last fraction of a second of history,
// never corrupt it. Prune drops whole partitions (DROP TABLE), never rows.
// Text columns use the "C" collation so that the order is byte order, as
// the contract says. Times are kept to the microsecond (timestamptz).
//
// If the server is down when Open is called, Open still returns the Store
// (the service runs without its history); the migration is retried by the
// next Write or Query.
package pghistory
