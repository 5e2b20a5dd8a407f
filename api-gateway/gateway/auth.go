package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// Keys under which the auth check leaves facts for the access log.
const (
	logKeySubject = "gateway.sub"  // who the token was issued to
	logKeyAuthErr = "gateway.auth" // why a request was refused
)

// authCheck is the gate in front of the proxy: the token of every request
// under /tracking/{strategy}/, and for a team's routes whether its holder
// may watch that team. Publishing is decided per record by the tracking
// services, which verify the same token again (the proxy forwards the
// Authorization header and the query unchanged), so a worker route needs
// only a valid token here.
type authCheck struct {
	mode     auth.Mode
	verifier auth.Verifier
	failures *prometheus.CounterVec // route, code
}

func newAuthCheck(cfg *Config, reg prometheus.Registerer) *authCheck {
	a := &authCheck{
		mode:     cfg.AuthMode,
		verifier: cfg.Verifier,
		failures: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_failures_total",
			Help: "Requests under /tracking refused by the gateway's auth check, by route and code: unauthorized (401: no valid token) or forbidden (403: the token may not watch the team).",
		}, []string{"route", "code"}),
	}
	// Every series exists from the start, so that rate() sees the first failure.
	for _, k := range []Kind{KindPublish, KindWorkerWS, KindTeamSSE, KindTeamWS, KindPositions, KindDevices, KindOther} {
		for _, code := range []tracking.Code{tracking.CodeUnauthorized, tracking.CodeForbidden} {
			a.failures.WithLabelValues(string(k), string(code))
		}
	}
	return a
}

// allow reports whether the request may go on to rt's upstream. When it may
// not, it has answered 401 or 403.
func (a *authCheck) allow(c *gin.Context, rt route) bool {
	if a.mode == auth.ModeNone || rt.Kind == KindPhone {
		// Not even TokenFromRequest: legacy clients may send anything. A
		// phone proves itself to the service with its device's secret
		// (HTTP basic auth, key=), which is no token.
		return true
	}
	// The challenge per RFC 6750 section 3: a malformed request, no token
	// (no error code then), or a token that does not verify. Verify and
	// TokenFromRequest fail only with CodeUnauthorized; whatever else they
	// might return still means no valid token.
	challenge := `Bearer error="invalid_request"`
	tok, err := auth.TokenFromRequest(c.Request)
	var claims *auth.Claims
	if err == nil {
		challenge = `Bearer error="invalid_token"`
		if tok == "" {
			challenge = "Bearer"
		}
		claims, err = a.verifier.Verify(c.Request.Context(), tok)
	}
	if err != nil {
		c.Header("WWW-Authenticate", challenge)
		a.refuse(c, rt, http.StatusUnauthorized, tracking.CodeUnauthorized, tracking.ErrorMessage(err))
		return false
	}
	c.Set(logKeySubject, claims.Subject)
	if rt.byTeam() {
		if err := claims.CanWatch(rt.Team); err != nil {
			a.refuse(c, rt, http.StatusForbidden, tracking.CodeForbidden, tracking.ErrorMessage(err))
			return false
		}
	}
	return true
}

func (a *authCheck) refuse(c *gin.Context, rt route, status int, code tracking.Code, msg string) {
	a.failures.WithLabelValues(string(rt.Kind), string(code)).Inc()
	c.Set(logKeyAuthErr, msg)
	writeError(c.Writer, c.Request, status, code, msg, 0)
}
