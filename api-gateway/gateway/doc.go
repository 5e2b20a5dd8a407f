// Package gateway is the edge of the platform: it routes /tracking/{strategy}/**
// to the healthy replicas of that strategy's tracking service, rewritten to
// /tracking/**, and serves the view, health, readiness and metrics.
//
// Proxying streams in both directions without buffering: long NDJSON
// uploads, Server-Sent Events (each write flushed at once) and WebSocket
// (the Upgrade is passed through and the connection spliced). Worker
// connections go to the replica with the fewest active connections through
// this gateway; a team's manager streams go to the team's rendezvous replica,
// so each replica's broker intake follows its share of teams. A request whose
// connection is refused before any byte was sent is retried on the next
// replica.
package gateway
