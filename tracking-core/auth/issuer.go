package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
)

// DefaultTokenTTL is the lifetime of issued tokens when NewIssuer is given 0.
const DefaultTokenTTL = 8 * time.Hour

// Issuer signs HS256 tokens: the gateway's login endpoint in mode dev, and
// tests. Every token it signs verifies with NewHS256 (same secret, Options
// without Issuer or Audience) until it expires. It is safe for concurrent use.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewIssuer returns an Issuer signing with secret (at least MinSecretLen
// bytes) tokens valid for ttl (DefaultTokenTTL when 0).
func NewIssuer(secret []byte, ttl time.Duration) (*Issuer, error) {
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	switch {
	case ttl < 0:
		return nil, fmt.Errorf("auth: token TTL must not be negative, got %v", ttl)
	case ttl == 0:
		ttl = DefaultTokenTTL
	}
	return &Issuer{secret: append([]byte(nil), secret...), ttl: ttl, now: time.Now}, nil
}

// Issue returns a signed token carrying c. c.Expires, when zero, becomes now
// plus the TTL (set it to mint a token that expires at a given time, or
// has expired). c is checked as Verify checks it; the error for claims that
// would not verify is a *tracking.Error with CodeBadRequest naming the
// claim. Anonymous claims cannot be issued.
func (i *Issuer) Issue(c Claims) (string, error) {
	if c.Anonymous {
		return "", errors.New("auth: anonymous claims cannot be issued")
	}
	c.Teams = append([]string(nil), c.Teams...)
	if ce := c.normalize(); ce != nil {
		return "", &tracking.Error{Code: tracking.CodeBadRequest, Field: ce.claim, Message: ce.msg}
	}
	now := i.now()
	if c.Expires.IsZero() {
		c.Expires = now.Add(i.ttl)
	}
	iat := now
	if c.Expires.Before(iat) {
		iat = c.Expires // a token minted expired is still issued before it expires
	}
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.Subject,
			ExpiresAt: jwt.NewNumericDate(c.Expires),
			IssuedAt:  jwt.NewNumericDate(iat),
		},
		Role:     string(c.Role),
		Teams:    c.Teams,
		WorkerID: c.WorkerID,
	}
	if c.WorkerID == c.Subject {
		w.WorkerID = "" // the default: no need to carry it
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, w).SignedString(i.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}
