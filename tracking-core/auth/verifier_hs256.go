package auth

import (
	"context"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest HS256 secret accepted, in bytes: the size of
// the hash (RFC 7518, section 3.2).
const MinSecretLen = 32

// hs256 verifies tokens signed with a shared secret.
type hs256 struct {
	core
	secret []byte
}

var _ VerifyCloser = (*hs256)(nil)

// NewHS256 returns a Verifier of HS256 tokens signed with secret, which must
// be at least MinSecretLen bytes. Tokens of any other algorithm are refused.
// The Verifier (a VerifyCloser) holds no resources.
func NewHS256(secret []byte, opts Options) (Verifier, error) {
	return nilIfErr(newHS256(secret, opts))
}

func newHS256(secret []byte, opts Options) (*hs256, error) {
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &hs256{
		core:   newCore(opts, jwt.SigningMethodHS256.Alg()),
		secret: append([]byte(nil), secret...),
	}, nil
}

func checkSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("auth: the HS256 secret is %d bytes; it must be at least %d (e.g. openssl rand -base64 48)", len(secret), MinSecretLen)
	}
	return nil
}

// Verify implements Verifier.
func (v *hs256) Verify(_ context.Context, token string) (*Claims, error) {
	return v.verify(token, func(*jwt.Token) (any, error) { return v.secret, nil })
}

// Close implements io.Closer; there is nothing to release.
func (v *hs256) Close() error { return nil }
