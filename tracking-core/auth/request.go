package auth

import (
	"net/http"
	"strings"

	tracking "github.com/teamtrack/tracking-core"
)

// TokenQueryParam is the query parameter that carries the token where a
// header cannot (browser EventSource and WebSocket).
const TokenQueryParam = "access_token"

// TokenFromRequest returns the token r carries: from its Authorization
// header, which must then read "Bearer <token>" (the scheme in any case),
// else from the access_token query parameter. A request with neither
// returns "" and no error (Verify reports the missing token, and mode none
// needs none). A malformed header, a repeated header or parameter, or an
// empty parameter is a *tracking.Error with CodeUnauthorized.
//
// The query parameter lands in access logs: see RedactURL.
func TokenFromRequest(r *http.Request) (string, error) {
	switch hs := r.Header.Values("Authorization"); len(hs) {
	case 0:
	case 1:
		return bearer(hs[0])
	default:
		return "", tracking.Errorf(tracking.CodeUnauthorized, "malformed Authorization: the header is repeated")
	}
	vs, ok := r.URL.Query()[TokenQueryParam]
	switch {
	case !ok:
		return "", nil
	case len(vs) > 1:
		return "", tracking.Errorf(tracking.CodeUnauthorized, "malformed request: the %s parameter is repeated", TokenQueryParam)
	case vs[0] == "":
		return "", tracking.Errorf(tracking.CodeUnauthorized, "malformed request: the %s parameter is empty", TokenQueryParam)
	}
	return vs[0], nil
}

func bearer(h string) (string, error) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", tracking.Errorf(tracking.CodeUnauthorized, `malformed Authorization: want "Bearer <token>", got scheme %q`, clip(scheme))
	}
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "":
		return "", tracking.Errorf(tracking.CodeUnauthorized, `malformed Authorization: "Bearer" without a token`)
	case strings.ContainsAny(tok, " \t"):
		return "", tracking.Errorf(tracking.CodeUnauthorized, `malformed Authorization: want "Bearer <token>", got more than one word after Bearer`)
	}
	return tok, nil
}
