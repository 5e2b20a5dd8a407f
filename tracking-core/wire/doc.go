// Package wire is the tracking API's protocol in one place: what goes over
// the connections between workers, managers and a tracking replica, written
// by the server (httpapi) and read by every client (the apiclient package,
// the simulator, the end-to-end tests).
//
//   - the manager stream's WebSocket messages ({"type":"positions"},
//     {"type":"reconnect"}, {"type":"error"}) and the error answers a worker
//     gets on its WebSocket (message.go);
//   - the Server-Sent Events framing of the manager stream: encoding, and a
//     reader of events (sse.go, sse_reader.go);
//   - the answer to a streaming POST, {"accepted":N,"rejected":M,"errors":[...]}
//     (ingest.go);
//   - splitting a JSON array of records without decoding them (split.go).
//
// Encoders append to a caller's buffer and do not allocate, so that the
// server's write path stays allocation-free; decoders alias their input
// where they can. docs/API.md describes the same formats for people.
package wire
