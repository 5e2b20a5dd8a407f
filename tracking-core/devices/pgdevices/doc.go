// Package pgdevices is a devices.Store on PostgreSQL (pgx v5), in the
// history's database beside the alerts and the messages: its own dev_*
// table in Config.Schema, created at Open (CREATE ... IF NOT EXISTS under an
// advisory lock, so replicas may start together). If the server is down
// then, Open still returns the Store and the migration is retried by the
// next call, as pgmessaging does.
//
// A Put is INSERT ... ON CONFLICT DO NOTHING and, when the id is taken, an
// UPDATE of everything but created: under READ COMMITTED a concurrent
// insert of the same id waits for the first, so one Put creates and the
// others replace (a Delete between the two statements makes the Put try
// again). Ids use the "C" collation (byte order, as Go compares); times keep
// microseconds; the secret's hash is bytea, NULL for none.
package pgdevices
