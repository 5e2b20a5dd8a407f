// Package client is the Go client of the tracking API for integrators:
// programs that report positions as workers, or watch teams as managers,
// without writing the wire protocol again.
//
//   - Worker (DialWorker) keeps a worker's WebSocket open: Send publishes
//     positions, Messages yields the managers' messages (acknowledge them
//     with Ack, Read), Interval is the sampling advice; when the server asks
//     the worker to reconnect (lifetime, token expiry, shutdown) or the
//     connection breaks, it dials again with backoff, and Send waits for the
//     new connection.
//   - Watch follows a team's stream (Server-Sent Events or WebSocket) and
//     calls a function with each event; when the stream ends it reconnects
//     after the last stream id received (Last-Event-ID, or since=), so the
//     function sees every position once, in order; a Reset event says the
//     server could not resume and a snapshot follows.
//
// Both build on wire/apiclient (the one low-level client, which the
// simulator and the tests use too) and take its *apiclient.Client: the
// base URL (a replica's /tracking, or the gateway's /tracking/redis) and
// the token. The formats are in docs/API.md, docs/openapi.yaml and
// docs/asyncapi.yaml.
package client
