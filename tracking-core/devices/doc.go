// Package devices is the device registry of issue 15 ("Real phones as
// workers"): phone apps (Traccar Client with the OsmAnd protocol, OwnTracks
// in HTTP mode) report positions under identifiers of their own, not a
// worker id. An admin registers each phone: its Device maps the id the phone
// sends to a worker id and a team, with a per-device secret so that one phone
// cannot report as another (a phone that knows another's id still lacks its
// secret). A position from an id that is not registered is refused (the
// ingest handler answers with a clear message and counts it).
//
// This package holds the Device type, its validation, the secrets (NewSecret,
// HashSecret, CheckSecret) and the Store contract (store.go); it serves no
// HTTP. Backends: sqlitedevices (the embedded default, in the history's
// SQLite file) and pgdevices (PostgreSQL), both running the conformance suite
// of devicestest; devicesdb.Open picks one by the DSN's scheme (HISTORY_DSN,
// shared with the history, alerting and messaging stores), as messagingdb
// does. Cache (cache.go) is the replica's read-through cache in front of a
// Store: phones post every few seconds, and an unknown phone may post forever.
//
// Secrets are hashed with a random salt and HMAC-SHA256, a fast hash, on
// purpose: the check runs on every position a phone posts, and a secret from
// NewSecret has 192 random bits, which no offline guessing reaches. The
// stored hash is the only form the registry keeps: a lost secret is replaced,
// not recovered.
package devices
