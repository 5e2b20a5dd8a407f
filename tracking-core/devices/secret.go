package devices

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// The stored form of a secret: a version byte, a random salt, and
// HMAC-SHA256 keyed with the salt over the secret. The version lets a later
// scheme (a slower hash, a server-side pepper) coexist with stored hashes.
const (
	hashVersion = 1
	saltLen     = 16
	hashLen     = 1 + saltLen + sha256.Size
)

// NewSecret returns a fresh random secret for a device: 24 random bytes
// (192 bits) as 32 characters of unpadded base64url, so that it fits a URL's
// query (the OsmAnd protocol) or a password field (OwnTracks) as it is.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the stored form of secret, with a fresh random salt:
// two hashes of one secret differ. It does not validate the secret (see
// ValidateSecret).
func HashSecret(secret string) []byte {
	h := make([]byte, 1+saltLen, hashLen)
	h[0] = hashVersion
	_, _ = rand.Read(h[1:])
	return append(h, mac(h[1:], secret)...)
}

// CheckSecret reports whether secret is the one hash was made of, in time
// independent of where they differ. It is fast (one HMAC-SHA256), for the
// check of every report. An empty hash (a device without a secret), a
// malformed one, or an empty secret never match.
func CheckSecret(hash []byte, secret string) bool {
	if !validHash(hash) || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare(mac(hash[1:1+saltLen], secret), hash[1+saltLen:]) == 1
}

// mac is HMAC-SHA256 keyed with salt over secret.
func mac(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func validHash(h []byte) bool { return len(h) == hashLen && h[0] == hashVersion }
