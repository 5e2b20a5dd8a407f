// Package httpapi serves the tracking API of docs/API.md: workers publish over
// a streaming NDJSON POST or a WebSocket; managers watch a team over SSE or a
// WebSocket (snapshot, then live); plus the last-positions endpoint and the
// operational endpoints. Each manager connection has one writer goroutine that
// drains its hub.Queue and writes what it finds in one batch.
package httpapi
