// Package tracking holds the domain of the team tracking platform: the position
// record (decoding of the canonical and the legacy form, validation, the canonical
// encoding), the errors that the edges map to protocol answers, and the
// Broadcaster contract that carries positions between replicas.
//
// Sub-packages build the service on top of it: memory (the reference
// Broadcaster), broadcasttest (the conformance suite every backend runs), hub
// (local fan-out to managers), httpapi (the HTTP, SSE and WebSocket API),
// discovery (Consul registration and resolution) and service (the wiring of a
// tracking replica). Nothing here depends on Redis or Kafka.
package tracking
