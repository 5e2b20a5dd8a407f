package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/teamtrack/tracking-core/alerting"
)

// KeyError says which VAPID key is wrong, and why (never its value).
type KeyError struct {
	// Key is "public" or "private".
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return "VAPID " + e.Key + " key: " + e.Reason }

// GenerateKeys returns a new VAPID key pair.
func GenerateKeys() (alerting.VAPIDKeys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return alerting.VAPIDKeys{}, fmt.Errorf("webpush: generate VAPID keys: %w", err)
	}
	return alerting.VAPIDKeys{
		Public:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(k.Bytes()),
	}, nil
}

// CheckKeys checks a VAPID key pair: the private key a P-256 scalar (32
// bytes), the public key its point (65 bytes, uncompressed), each in
// base64url or base64, padded or not. It returns the pair in unpadded
// base64url; its error is a *KeyError.
func CheckKeys(k alerting.VAPIDKeys) (alerting.VAPIDKeys, error) {
	d, err := alerting.DecodeKey(k.Private)
	if err != nil || len(d) != 32 {
		return k, &KeyError{Key: "private", Reason: "must be the base64url of a P-256 private key (32 bytes)"}
	}
	priv, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		return k, &KeyError{Key: "private", Reason: "is not a valid P-256 private key"}
	}
	pub, err := alerting.DecodeKey(k.Public)
	if err != nil || len(pub) != 65 {
		return k, &KeyError{Key: "public", Reason: "must be the base64url of an uncompressed P-256 public key (65 bytes)"}
	}
	if !bytes.Equal(pub, priv.PublicKey().Bytes()) {
		return k, &KeyError{Key: "public", Reason: "is not the public key of the private key"}
	}
	return alerting.VAPIDKeys{Public: base64.RawURLEncoding.EncodeToString(pub), Private: base64.RawURLEncoding.EncodeToString(d)}, nil
}

// FixedKeys is a Config.Keys that returns k (PUSH_VAPID_* set).
func FixedKeys(k alerting.VAPIDKeys) func(context.Context) (alerting.VAPIDKeys, error) {
	return func(context.Context) (alerting.VAPIDKeys, error) { return CheckKeys(k) }
}

// StoredKeys is a Config.Keys that returns the pair kept in st, generating
// and storing one first when there is none (Store.VAPIDKeys: the first
// replica to store a pair gives it to all).
func StoredKeys(st alerting.Store) func(context.Context) (alerting.VAPIDKeys, error) {
	return func(ctx context.Context) (alerting.VAPIDKeys, error) {
		candidate, err := GenerateKeys()
		if err != nil {
			return alerting.VAPIDKeys{}, err
		}
		k, err := st.VAPIDKeys(ctx, candidate)
		if err != nil {
			return alerting.VAPIDKeys{}, err
		}
		return CheckKeys(k)
	}
}
