package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// Auth says what the simulator's connections present to the tracking
// service, as `Authorization: Bearer <token>` on the WebSocket handshake, the
// streaming POST and the manager streams. The zero value presents nothing
// (services in AUTH_MODE=none).
type Auth struct {
	// Secret, when set, signs a token (HS256, auth.NewIssuer) for each
	// worker (role worker, subject and worker_id its id, teams its team) and
	// each load-mode manager (role manager, teams its team): the services'
	// AUTH_JWT_SECRET, in mode dev or in mode jwt with a shared secret. At
	// least auth.MinSecretLen (32) bytes.
	Secret []byte
	// TTL of the signed tokens. Default auth.DefaultTokenTTL (8h). A token
	// is signed anew once half its life has passed: the connection's next
	// (re)connect presents the new one, so long runs never present an
	// expired token.
	TTL time.Duration
	// Token, when Secret is empty, is presented as it is by every connection
	// (a token an identity provider issued). It cannot be renewed.
	Token string
}

// describe says, for the start-up log, which credentials a run presents.
func (a Auth) describe() string {
	switch {
	case len(a.Secret) > 0:
		return "a token signed per worker and manager (AUTH_JWT_SECRET)"
	case a.Token != "":
		return "one token for every connection (AUTH_TOKEN)"
	}
	return "none"
}

// credentials mint or hand out the tokens of a run; nil presents none.
type credentials struct {
	issuer *auth.Issuer // nil: static
	static string
	ttl    time.Duration
	now    func() time.Time
}

func newCredentials(a Auth) (*credentials, error) {
	switch {
	case len(a.Secret) > 0:
		ttl := a.TTL
		if ttl <= 0 {
			ttl = auth.DefaultTokenTTL
		}
		iss, err := auth.NewIssuer(a.Secret, ttl)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		return &credentials{issuer: iss, ttl: ttl, now: time.Now}, nil
	case a.Token != "":
		if strings.ContainsAny(a.Token, " \t\r\n") {
			return nil, fmt.Errorf("auth: the token contains white space")
		}
		return &credentials{static: a.Token}, nil
	}
	return nil, nil
}

// credential is the token of one worker or manager, re-signed when due. It
// is used by its owner's goroutine only.
type credential struct {
	claims  auth.Claims
	token   string
	renewAt time.Time
}

func workerCredential(id, team string) credential {
	return credential{claims: auth.Claims{Subject: id, Role: auth.RoleWorker, Teams: []string{team}, WorkerID: id}}
}

func managerCredential(n int, team string) credential {
	return credential{claims: auth.Claims{Subject: fmt.Sprintf("%s-manager-%d", team, n), Role: auth.RoleManager, Teams: []string{team}}}
}

// header returns the headers that carry the credential's token (nil: no
// token), signing a new token when the last one is past half its life.
func (c *credential) header(cr *credentials) (http.Header, error) {
	if cr == nil {
		return nil, nil
	}
	if cr.issuer == nil {
		return bearer(cr.static), nil
	}
	now := cr.now()
	if c.token == "" || !now.Before(c.renewAt) {
		claims := c.claims
		claims.Expires = now.Add(cr.ttl)
		tok, err := cr.issuer.Issue(claims)
		if err != nil {
			return nil, fmt.Errorf("sign a token for %s: %w", c.claims.Subject, err)
		}
		c.token, c.renewAt = tok, now.Add(cr.ttl/2)
	}
	return bearer(c.token), nil
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// authError is a connection the server refused for its credentials: 401
// (no token, or a token it does not accept) or 403 (a token that does not
// allow this).
type authError struct {
	url     string
	status  int
	message string // the server's, if it said one
	token   bool   // whether a token was presented
}

func (e *authError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.url, e.status, http.StatusText(e.status))
	if e.message != "" {
		fmt.Fprintf(&b, " (%s)", e.message)
	}
	b.WriteString(": ")
	b.WriteString(e.advice())
	return b.String()
}

// advice is what the operator should do about it.
func (e *authError) advice() string {
	switch {
	case !e.token:
		return "server requires a token: set AUTH_JWT_SECRET or AUTH_TOKEN"
	case e.status == http.StatusForbidden:
		return "server refused the token for this team or worker: check the token's role and teams (AUTH_TOKEN), or use AUTH_JWT_SECRET"
	}
	return "server refused the token: check that AUTH_JWT_SECRET is the services' secret, or that AUTH_TOKEN is valid and not expired"
}

// refusal turns a refusal of the connection for its credentials (an
// *apiclient.StatusError with 401 or 403) into an authError; other errors
// are returned as they are. header is what the connection presented.
func refusal(err error, header http.Header) error {
	var se *apiclient.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized && se.StatusCode != http.StatusForbidden {
		return err
	}
	return &authError{url: se.URL, status: se.StatusCode, token: header.Get("Authorization") != "", message: errorMessage([]byte(se.Text))}
}

// errorMessage is the message of an error answer: the "message" of
// {"code":"...","message":"..."}, else the body's text when it is short.
func errorMessage(b []byte) string {
	var v struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &v) == nil && v.Message != "" {
		return clip(v.Message, 200)
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.Contains(s, "<") {
		return ""
	}
	return clip(s, 200)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// reportRefusal logs the first refused connection of the run, at error
// level and with what to do; later ones are only counted (and shown as the
// last error).
func (e *runEnv) reportRefusal(err error) {
	var ae *authError
	if !errors.As(err, &ae) || !e.refusalLogged.CompareAndSwap(false, true) {
		return
	}
	e.log.Error(ae.advice(), "url", ae.url, "status", ae.status, "server_message", ae.message)
}
