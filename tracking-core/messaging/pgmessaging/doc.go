// Package pgmessaging is a messaging.Store on PostgreSQL (pgx v5), in the
// history's database beside the alerts: its own msg_* tables in
// Config.Schema, created at Open (CREATE ... IF NOT EXISTS under an
// advisory lock, so replicas may start together). If the server is down
// then, Open still returns the Store and the migration is retried by the
// next call, as pgalerting does.
//
// Create inserts the message with ON CONFLICT DO NOTHING and its
// recipients with COPY in the same transaction: a concurrent create of the
// same (team, id) waits for the first and then finds it stored. A Mark is one
// UPDATE guarded by the forward-only rule (messaging.MarkSQL): under READ
// COMMITTED a concurrent mark of the same row re-checks the guard on the
// updated row, so one of them changes it. Expire takes its rows with
// FOR UPDATE SKIP LOCKED, so that replicas expiring at once never return a
// recipient twice. Bodies are bytea (byte for byte); text columns use the
// "C" collation (byte order, as Go compares); times keep microseconds.
package pgmessaging
