// Package redact keeps credentials out of the gateway's logs: access tokens
// passed as `token` or `access_token` query parameters (browsers cannot set
// headers on WebSocket and EventSource requests, so clients put them there).
package redact
