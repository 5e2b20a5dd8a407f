// Package fencing evaluates geofences on the ingest path (issue 13): the
// glue between an accepted position and the pure engine in geofence.
//
// Each worker connection has a Conn; after a record is accepted it calls
// Conn.Seen, which, for a team with fences (the replica's defcache), applies
// the fix to the worker's geofence.WorkerState and, for each event,
// publishes an alert on the team's stream (managers on every replica get
// it) and hands it to a bounded writer that appends it to the alerting
// store (GET /events, webhooks). Teams without fences cost one map lookup.
//
// A worker's state lives in the replica (shared by its connections there)
// and, when the Broadcaster is a tracking.StateStore, at the broker: it is
// loaded on the worker's first record on each connection (bounded by
// Config.LoadTimeout) and saved, off the ingest path, whenever it changes
// (geofence.WorkerState.Seq), so that a worker moving to another replica
// is not reported entering again. One sweeper goroutine per replica calls
// geofence's Due for workers whose dwell has come due without a fix (a
// worker who stops sending inside a fence still gets its dwell).
//
// Times: a fix stamped in the future is evaluated at the receipt time (it
// would otherwise make every later fix look late). The sweeper runs a
// silent worker's clock on from its last fix by the wall time since that
// fix arrived, so that a phone uploading a backlog is judged by its fixes,
// not by the wall clock.
//
// # Cost (go test -run '^$' -bench . ./tracking-core/fencing/)
//
// On this 2-core VM, shared: Conn.Seen for a team without fences 6 ns,
// 0 allocs (BenchmarkSeenNoFences); for a worker walking outside a team's
// fence 107 ns, 0 allocs (BenchmarkSeenWalking), against the ~20-30 µs
// the service spends on a position. The defcache lookup alone: 3 ns.
package fencing
