// Package servicetest runs the end-to-end scenarios of a tracking replica
// pair over real HTTP: workers on replica A, managers on replica B, with the
// Broadcaster under test between them. Each strategy runs the same scenarios
// through a thin wrapper, as it runs broadcasttest:
//
//	servicetest.Run(t, servicetest.Features{...}, setup)
//
// Its clients (SSE, WebSocket, NDJSON POST) are recorders over
// wire/apiclient, exported for other end-to-end tests; new tests may use
// apiclient directly.
package servicetest
