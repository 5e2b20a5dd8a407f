// Package pghistory is a history.Store on PostgreSQL (pgx v5).
//
// One table, <schema>.positions, declaratively partitioned by range on the
// fix time, one partition per UTC day (positions_pYYYYMMDD). Open migrates
// (idempotent CREATE ... IF NOT EXISTS under an advisory lock, so replicas
// may start together) and creates the partitions of today and the next days
// ahead; a write into a day without a partition (a late fix) creates it
// first. A batch is COPYed into a per-connection temporary staging table,
// then moved with INSERT ... SELECT ... ON CONFLICT DO NOTHING on the
// primary key (team, id, fix time): writes are idempotent. Prune drops whole
// partitions (DROP TABLE), never rows. Indexes: (team, worker, fix time, id)
// and (team, fix time, worker, id), the two query shapes in query order.
// Text columns use the "C" collation so that the order is byte order, as
// the contract says. Times are kept to the microsecond (timestamptz).
//
// If the server is down when Open is called, Open still returns the Store
// (the service runs without its history); the migration is retried by the
// next Write or Query.
package pghistory
