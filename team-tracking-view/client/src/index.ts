// @teamtrack/client: the tracking API's wire protocol for TypeScript and
// JavaScript (browsers, Web Workers, Node 20+), without dependencies.
//
//   watchTeam / TeamWatch        a manager's stream of a team (SSE or WebSocket), resumed, with backoff
//   connectWorker / WorkerConnection  a worker's WebSocket: positions out, messages in, acks
//   TrackingApi                  REST: last positions, presence, history, messages
//   SSEParser                    the event stream format, for any byte stream
//
// The formats are docs/API.md and docs/asyncapi.yaml of the repository.

export * from "./auth.js";
export * from "./backoff.js";
export * from "./http.js";
export * from "./manager.js";
export * from "./records.js";
export * from "./replay.js";
export * from "./sse.js";
export * from "./worker.js";
