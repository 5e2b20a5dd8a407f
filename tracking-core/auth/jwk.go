package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const minRSABits = 2048

// publicKey is one usable key of a JWKS.
type publicKey struct {
	kid string
	alg string // RS256 or ES256: the only algorithm this key verifies
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// jwk is the JSON form of a key (RFC 7517), the fields this package reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS returns the usable keys of a JWKS document and, for the log,
// why each other key was skipped. A document that is not a JWKS is an error.
func parseJWKS(data []byte) (keys []publicKey, skipped []string, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JWKS document: %w", err)
	}
	if doc.Keys == nil {
		return nil, nil, fmt.Errorf("not a JWKS document: no keys array")
	}
	for i, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		k, err := j.publicKey()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %q): %v", i, j.Kid, err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func (j *jwk) publicKey() (publicKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return publicKey{}, fmt.Errorf("use %q is not sig", j.Use)
	}
	var alg string
	var key func() (any, error)
	switch j.Kty {
	case "RSA":
		alg, key = jwt.SigningMethodRS256.Alg(), func() (any, error) { return j.rsaKey() }
	case "EC":
		alg, key = jwt.SigningMethodES256.Alg(), func() (any, error) { return j.ecKey() }
	default:
		return publicKey{}, fmt.Errorf("key type %q is not supported (want RSA or EC)", j.Kty)
	}
	if j.Alg != "" && j.Alg != alg {
		return publicKey{}, fmt.Errorf("%s key for %s: only %s is supported", j.Kty, j.Alg, alg)
	}
	k, err := key()
	if err != nil {
		return publicKey{}, err
	}
	return publicKey{kid: j.Kid, alg: alg, key: k}, nil
}

func (j *jwk) rsaKey() (*rsa.PublicKey, error) {
	n, err := b64(j.N, "n")
	if err != nil {
		return nil, err
	}
	e, err := b64(j.E, "e")
	if err != nil {
		return nil, err
	}
	if len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("RSA exponent of %d bytes", len(e))
	}
	var exp int64
	for _, b := range e {
		exp = exp<<8 | int64(b)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, fmt.Errorf("RSA exponent %d is not usable", exp)
	}
	k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	if bits := k.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits: at least %d needed", bits, minRSABits)
	}
	return k, nil
}

func (j *jwk) ecKey() (*ecdsa.PublicKey, error) {
	if j.Crv != "P-256" {
		return nil, fmt.Errorf("EC curve %q is not supported (want P-256)", j.Crv)
	}
	x, err := b64(j.X, "x")
	if err != nil {
		return nil, err
	}
	y, err := b64(j.Y, "y")
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("P-256 coordinates must be 32 bytes each, got %d and %d", len(x), len(y))
	}
	point := append(append([]byte{4}, x...), y...)
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point) // checks the point is on the curve
	if err != nil {
		return nil, fmt.Errorf("EC key: %w", err)
	}
	return k, nil
}

// b64 decodes a base64url member, tolerating the padding some providers add.
func b64(s, member string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("member %q is missing", member)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", member, err)
	}
	return b, nil
}
