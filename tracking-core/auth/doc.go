// Package auth authenticates and authorises the clients of the tracking
// platform. The gateway checks every request with it and the tracking
// services check again with the same code, so a request that reaches a
// replica directly is held to the same rules.
//
// # Tokens
//
// A client presents a JWT, as `Authorization: Bearer <token>` or, where a
// browser cannot set headers (EventSource, WebSocket), as the `access_token`
// query parameter ([TokenFromRequest]). Query parameters end up in access
// logs: every line that carries a URL or query goes through [RedactURL] or
// [RedactQuery] first.
//
// The claims this package reads (see [Claims]):
//
//	sub        the subject (required, at most 256 bytes)
//	role       "worker", "manager" or "admin" (required)
//	teams      array of team names, each valid per tracking.ValidTeam
//	           (required, non-empty, for workers and managers; a single
//	           string is accepted as a one-team array)
//	worker_id  the workerId a worker publishes as (optional; defaults to
//	           sub; must be a valid workerId); ignored for other roles
//	exp        expiry, NumericDate (required)
//	nbf, iat   not before / issued at (optional; a token is refused before
//	           nbf, or when iat is in the future)
//	iss, aud   checked only when Options.Issuer / Options.Audience are set
//
// All time checks allow Options.ClockSkew (30s by default) either way.
//
// # Verifiers
//
// [NewHS256] verifies tokens signed with a shared secret (HS256 only, secrets
// of at least 32 bytes). [NewJWKS] verifies RS256 and ES256 (P-256) tokens
// against the keys an identity provider publishes at a JWKS URL; it caches
// the keys by kid, refreshes them periodically and when a token names a kid
// it does not know (at most once per Options.MinRefreshInterval, so tokens
// with made-up kids cannot make it hammer the provider), and keeps the last
// good keys when a refresh fails; a JWKS URL that is plain http off the
// loopback is refused. Each verifier accepts only its own
// algorithms: `alg: none`, HS256 tokens offered to a JWKS verifier (the
// classic "RSA public key as HMAC secret" confusion), RS256 tokens whose kid
// names an EC key and so on are refused before any signature is computed.
// Tokens longer than [MaxTokenLen] and tokens with a `crit` header are
// refused too.
//
// Every error Verify returns is a *tracking.Error with CodeUnauthorized and a
// message fit for the client ("token expired at 2026-11-22T13:21:04Z (3m0s
// ago)", "unknown signing key id (kid) \"k9\"", ...). The edges map codes to
// HTTP statuses; nothing here writes a response.
//
// # Modes
//
// [ParseMode] reads AUTH_MODE's value and [NewVerifier] builds what a mode
// needs:
//
//	jwt   production: a JWKS verifier when a JWKS URL is given, else HS256
//	      with the configured secret; no URL and no secret is an error
//	dev   HS256 with the secret the gateway's local login endpoint signs
//	      with ([Issuer]), so the one-command local platform just works
//	none  no authentication (legacy clients): every request gets the same
//	      admin-equivalent claims with Anonymous set; the caller logs a
//	      warning at start-up
//
// # Policy
//
// [Claims.CanPublish] and [Claims.CanWatch] decide what a token allows and
// return a *tracking.Error with CodeForbidden naming what does not match:
//
//	worker   publishes only as its own workerId into one of its teams;
//	         does not watch
//	manager  watches only its teams; does not publish
//	admin    anything (as do the anonymous claims of mode none)
//
// Streams outlive the check at connect time: [Claims.Remaining] says how
// long the token has left, so that a handler can end the stream (with a
// reconnect hint) when it expires.
package auth
