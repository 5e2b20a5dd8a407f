// Package pgalerting is an alerting.Store on PostgreSQL (pgx v5), in the
// history's database: its own alert_* tables in Config.Schema, created at
// Open (CREATE ... IF NOT EXISTS under an advisory lock, so replicas may
// start together). If the server is down then, Open still returns the
// Store and the migration is retried by the next call, as pghistory does.
//
// Definition versions come from a one-row counter updated inside each
// definition write: its row lock makes writers commit in version order, so
// that a poller of Changes (in a REPEATABLE READ snapshot) never sees
// version n+1 before n. Definition writes are rare; ingest never takes it.
//
// Lease picks due outbox rows with SELECT ... FOR UPDATE SKIP LOCKED and
// moves them to due = now + lease with a lease token in the same
// statement: replicas leasing at once skip each other's rows, and a leased
// row is not due again until its lease runs out. Bodies are bytea (byte for
// byte what was appended); text columns use the "C" collation (byte order);
// times keep microseconds.
package pgalerting
