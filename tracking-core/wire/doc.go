// Package wire is the platform's protocol in one place: what goes over the
// connections between workers, managers and a tracking replica, written by
// the server (httpapi) and read by every client (the apiclient package, the
// simulator, the end-to-end tests), and what goes between replicas through
// the broker. The domain (tracking.Position, its validation, tracking.Message,
// the Broadcaster) stays in the root package.
//
//   - the manager stream's WebSocket messages ({"type":"positions"},
//     {"type":"reconnect"}, {"type":"error"}) and the error answers a worker
//     gets on its WebSocket (message.go);
//   - the Server-Sent Events framing of the manager stream: encoding, and a
//     reader of events (sse.go, sse_reader.go);
//   - the answer to a streaming POST, {"accepted":N,"rejected":M,"errors":[...]}
//     (ingest.go);
//   - splitting a JSON array of records without decoding them (split.go);
//   - the position record's codec: DecodePosition (canonical and legacy form,
//     one pass, validated by the domain's rules) and AppendPosition, the
//     canonical encoding (position.go, position_decode.go); NewMessage, a
//     position serialised once for the broker and the managers;
//   - RecordScanner, which splits a POST body of NDJSON or concatenated
//     records (record_scanner.go);
//   - the broker frame: messages of one team packed into one payload
//     (frame.go).
//
// Encoders append to a caller's buffer and do not allocate, so that the
// server's write path stays allocation-free; decoders alias their input
// where they can. docs/API.md describes the same formats for people.
package wire
