// Package tracking holds the domain of the team tracking platform: the
// position record and its validation, the Message a position travels in, the
// errors that the edges map to protocol answers, and the contracts the
// brokers fulfil between replicas: Broadcaster (positions and events of a
// team), StateStore (a small state per worker) and Mailbox (payloads
// addressed to a worker or a team, delivered live to the replicas holding
// their connections).
//
// Sub-packages build the service on top of it: wire (the protocol: the
// record's JSON codec, the stream scanner, broker frames, the manager stream
// and ingest answers, and apiclient, the one Go client of the API), memory
// (the reference Broadcaster), broadcasttest (the conformance suite every
// backend runs), hub (local fan-out to managers), httpapi (the HTTP, SSE and
// WebSocket API), discovery (Consul registration and resolution) and service
// (the wiring of a tracking replica). Nothing here depends on Redis or Kafka.
package tracking
