// Package apiclient is the one Go client of the tracking API, for every
// program that talks to a replica or to the gateway: the simulator, the
// end-to-end scenarios (servicetest) and the gateway's tests.
//
//   - a worker publishes over a WebSocket (DialWorker) or a streaming NDJSON
//     POST (OpenPost, or Post for a body at hand) and gets the server's
//     answers: error messages, reconnect hints, the ingest summary;
//   - a manager watches a team over Server-Sent Events (WatchSSE) or a
//     WebSocket (WatchWS): both yield batches of records, undecoded, and end
//     with a *ReconnectError when the server asks the client to come back;
//   - LastPositions reads a team's last known positions.
//
// A Client is a base URL (the API's /tracking, or the gateway's
// /tracking/redis or /tracking/kafka) with an *http.Client and credentials.
// The formats themselves live in package wire.
package apiclient
