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
//
// Authentication uses the platform's shared code (tracking-core/auth). In
// modes jwt and dev every request under /tracking/{strategy}/ needs a valid
// token (Authorization: Bearer, or the access_token query parameter) and a
// team's routes (its SSE and WebSocket streams and its positions) a token
// that may watch the team; the answer is otherwise 401 or 403 and the request
// never reaches a replica. Worker routes need only a valid token here: the
// replicas verify the same token again and check every record against it.
// Mode none checks nothing. GET /auth/config tells clients the mode; in mode
// dev, POST /auth/dev-login hands out tokens for the local platform.
package gateway
