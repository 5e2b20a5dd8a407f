// Package simulator drives the tracking service the way a fleet of field workers
// does: each simulated worker walks between random waypoints around a city
// centre and streams its positions over its own connection (WebSocket or a
// streaming NDJSON POST), reconnecting with backoff and honouring the server's
// reconnect hints.
//
// The same workers, plus simulated managers that watch their team's stream (SSE
// or WebSocket), make the load generator (RunLoad): it measures
// worker-to-manager latency from the records' own timestamps, the positions a
// manager should have seen and never did, and the CPU and memory of the server
// processes, and writes a report.
//
// The command that wires it to the environment lives in cmd/team-simulator.
package simulator
