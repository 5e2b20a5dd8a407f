package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	secret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	// t0 is "now" in the tests that fix the clock.
	t0 = time.Date(2026, 11, 22, 13, 21, 4, 0, time.UTC)
)

// fakeClock is a settable Options.Now.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// sign returns a token of claims signed with method and key, with extra
// header fields (a nil value deletes the field).
func sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// unsigned returns an alg-none style token: header and claims, no signature.
func unsigned(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "."
}

// workerClaims are valid claims of worker w-1 of team_one, expiring an hour after now.
func workerClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "w-1", "role": "worker", "teams": []string{"team_one"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
}

// with returns a copy of c changed by kv (key, value pairs; a nil value deletes).
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// wantCode fails unless err is a *tracking.Error of code whose message contains want.
func wantCode(t testing.TB, err error, code tracking.Code, want string) {
	t.Helper()
	var te *tracking.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *tracking.Error", err, err)
	}
	if te.Code != code {
		t.Fatalf("code %q, want %q (%v)", te.Code, code, err)
	}
	if !strings.Contains(tracking.ErrorMessage(err), want) {
		t.Fatalf("message %q does not contain %q", tracking.ErrorMessage(err), want)
	}
}

// must returns v, panicking on err: for setup that does not fail (key generation).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var (
	rsaKeys = sync.OnceValue(func() [3]*rsa.PrivateKey {
		gen := func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) }
		return [3]*rsa.PrivateKey{gen(), gen(), gen()}
	})
	ecKeys = sync.OnceValue(func() [2]*ecdsa.PrivateKey {
		gen := func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) }
		return [2]*ecdsa.PrivateKey{gen(), gen()}
	})
)

// rsaJWK is the JWK of k's public half.
func rsaJWK(kid string, k *rsa.PublicKey, extra ...string) map[string]any {
	m := map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
	return tweak(m, extra...)
}

// ecJWK is the JWK of k's public half.
func ecJWK(kid string, k *ecdsa.PublicKey, extra ...string) map[string]any {
	b := must(k.Bytes())
	size := (len(b) - 1) / 2
	crv := map[int]string{32: "P-256", 48: "P-384", 66: "P-521"}[size]
	m := map[string]any{
		"kty": "EC", "kid": kid, "crv": crv,
		"x": base64.RawURLEncoding.EncodeToString(b[1 : 1+size]),
		"y": base64.RawURLEncoding.EncodeToString(b[1+size:]),
	}
	return tweak(m, extra...)
}

// tweak sets (key, value) pairs of m; an empty value deletes the key.
func tweak(m map[string]any, kv ...string) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

var bg = context.Background()

var _ = auth.Redacted // the package under test
