// Package servicetest runs the end-to-end scenarios of a tracking replica
// pair over real HTTP: workers on replica A, managers on replica B, with the
// Broadcaster under test between them. Each strategy runs the same scenarios
// through a thin wrapper, as it runs broadcasttest:
//
//	servicetest.Run(t, servicetest.Features{...}, setup)
//
// The clients it uses (SSE, WebSocket, NDJSON POST) are exported for other
// end-to-end tests.
package servicetest
