package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
)

// Verifier checks a token and returns what it says.
//
// Verify is safe for concurrent use. On failure it returns a *tracking.Error
// with CodeUnauthorized whose message tells the client what is wrong; an
// empty token is "missing token". The returned Claims are the caller's.
type Verifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

// VerifyCloser is a Verifier that holds resources until closed (the JWKS
// refresher). Close is idempotent; it does not fail Verify calls made after
// it, which go on with what the verifier has.
type VerifyCloser interface {
	Verifier
	io.Closer
}

// MaxTokenLen is the longest token accepted, in bytes: larger ones are
// refused before they are decoded.
const MaxTokenLen = 8 << 10

// DefaultClockSkew is the default of Options.ClockSkew.
const DefaultClockSkew = 30 * time.Second

// Options tunes a verifier. The zero value is ready to use.
type Options struct {
	// Issuer, when set, must equal the token's iss. Default: not checked.
	Issuer string
	// Audience, when set, must be one of the token's aud. Default: not checked.
	Audience string
	// ClockSkew is the tolerance of the exp, nbf and iat checks. Default
	// DefaultClockSkew (30s); negative means none.
	ClockSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the JWKS verifier's refresh failures and key changes
	// (Verify itself logs nothing: its caller does). Default: discard.
	Logger *slog.Logger

	// The fields below concern the JWKS verifier only.

	// HTTPClient fetches the JWKS. Default: a client of this verifier's own,
	// whose idle connections Close closes.
	HTTPClient *http.Client
	// FetchTimeout bounds one fetch of the JWKS. Default 10s.
	FetchTimeout time.Duration
	// RefreshInterval is how often the keys are fetched again. Default 15m;
	// after a failed refresh the next try comes after at most a minute.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between fetches caused by tokens
	// naming an unknown kid. Default 10s.
	MinRefreshInterval time.Duration
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.ClockSkew == 0:
		o.ClockSkew = DefaultClockSkew
	case o.ClockSkew < 0:
		o.ClockSkew = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"FetchTimeout", &o.FetchTimeout, 10 * time.Second},
		{"RefreshInterval", &o.RefreshInterval, 15 * time.Minute},
		{"MinRefreshInterval", &o.MinRefreshInterval, 10 * time.Second},
	} {
		if *d.v < 0 {
			return o, fmt.Errorf("auth options: %s must not be negative, got %v", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return o, nil
}

// core is what every JWT verifier shares: parsing, the algorithm allow-list,
// the time, issuer and audience checks, and turning errors into messages.
type core struct {
	opts   Options
	algs   []string // the only algorithms accepted
	parser *jwt.Parser
}

func newCore(opts Options, algs ...string) core {
	return core{
		opts: opts,
		algs: algs,
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithStrictDecoding(),      // one encoding per token: no "tampered but equal" variants
			jwt.WithoutClaimsValidation(), // checkTimes and checkIssuer do it, with better messages
		),
	}
}

func unauthorized(format string, args ...any) *tracking.Error {
	return tracking.Errorf(tracking.CodeUnauthorized, format, args...)
}

// verify parses token, has keyFunc pick the key (after the algorithm has
// been checked against the allow-list), checks the signature and the
// claims.
func (v *core) verify(token string, keyFunc jwt.Keyfunc) (*Claims, error) {
	if token == "" {
		return nil, unauthorized("missing token: send Authorization: Bearer <token>, or the %s query parameter", TokenQueryParam)
	}
	if len(token) > MaxTokenLen {
		return nil, unauthorized("token is %d bytes, more than the %d allowed", len(token), MaxTokenLen)
	}
	var w wireClaims
	tok, err := v.parser.ParseWithClaims(token, &w, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, unauthorized("token has a crit header, which is not supported")
		}
		return keyFunc(t)
	})
	if err != nil {
		return nil, v.parseError(tok, err)
	}
	now := v.opts.Now()
	if err := v.checkTimes(&w, now); err != nil {
		return nil, err
	}
	if err := v.checkIssuer(&w); err != nil {
		return nil, err
	}
	c := &Claims{
		Subject:  w.Subject,
		Role:     Role(w.Role),
		Teams:    []string(w.Teams),
		WorkerID: w.WorkerID,
		Expires:  w.ExpiresAt.Time,
	}
	if ce := c.normalize(); ce != nil {
		return nil, unauthorized("token claim %s %s", ce.claim, ce.msg)
	}
	return c, nil
}

// parseError words a parse or signature failure for the client.
func (v *core) parseError(tok *jwt.Token, err error) error {
	var te *tracking.Error
	if errors.As(err, &te) { // from keyFunc
		return te
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return &tracking.Error{Code: tracking.CodeUnauthorized, Err: err,
			Message: "malformed token: " + strings.TrimPrefix(err.Error(), jwt.ErrTokenMalformed.Error()+": ")}
	}
	if tok != nil {
		alg, _ := tok.Header["alg"].(string)
		switch {
		case alg == "":
			return unauthorized("token header has no alg")
		case strings.EqualFold(alg, "none"):
			return unauthorized("unsigned token (alg none) refused")
		case !slices.Contains(v.algs, alg):
			return unauthorized("wrong algorithm %q: this service accepts %s", clip(alg), strings.Join(v.algs, " and "))
		}
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		return &tracking.Error{Code: tracking.CodeUnauthorized, Message: "bad signature", Err: err}
	}
	return &tracking.Error{Code: tracking.CodeUnauthorized, Message: "invalid token", Err: err}
}

func (v *core) checkTimes(w *wireClaims, now time.Time) error {
	skew := v.opts.ClockSkew
	if w.ExpiresAt == nil {
		return unauthorized("token has no expiry (exp)")
	}
	if exp := w.ExpiresAt.Time; now.After(exp.Add(skew)) {
		return unauthorized("token expired at %s (%s ago)", stamp(exp), now.Sub(exp).Round(time.Second))
	}
	if w.NotBefore != nil && now.Add(skew).Before(w.NotBefore.Time) {
		return unauthorized("token not valid before %s (%s from now)", stamp(w.NotBefore.Time), w.NotBefore.Sub(now).Round(time.Second))
	}
	if w.IssuedAt != nil && now.Add(skew).Before(w.IssuedAt.Time) {
		return unauthorized("token issued in the future (%s, %s from now): check the clocks", stamp(w.IssuedAt.Time), w.IssuedAt.Sub(now).Round(time.Second))
	}
	return nil
}

func (v *core) checkIssuer(w *wireClaims) error {
	if v.opts.Issuer != "" && w.Issuer != v.opts.Issuer {
		if w.Issuer == "" {
			return unauthorized("token has no issuer (iss), want %q", v.opts.Issuer)
		}
		return unauthorized("token issuer %q is not %q", clip(w.Issuer), v.opts.Issuer)
	}
	if v.opts.Audience != "" && !slices.Contains(w.Audience, v.opts.Audience) {
		return unauthorized("token audience (aud) does not include %q", v.opts.Audience)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
