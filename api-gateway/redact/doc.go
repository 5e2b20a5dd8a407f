// Package redact keeps credentials out of the gateway's logs: access tokens
// passed as `token` or `access_token` query parameters (browsers cannot set
// headers on WebSocket and EventSource requests, so clients put them there).
// Queries are redacted by the platform's shared code (auth.RedactQuery, which
// also reads percent-encoded names); this package applies it to every string
// of every log line, free text included.
package redact
