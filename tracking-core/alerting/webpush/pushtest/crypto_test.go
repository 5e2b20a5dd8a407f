package pushtest_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/webpush/pushtest"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The example of RFC 8291 section 5 (keys in its appendix A): Decrypt is
// right by the RFC, not only by agreeing with a sender.
func TestDecryptRFC8291Example(t *testing.T) {
	const (
		uaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
		uaPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
		auth      = "BTBZMqHH6r4Tts7J_aSIgg"
		body      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	)
	key, err := ecdh.P256().NewPrivateKey(b64(t, uaPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()); got != uaPublic {
		t.Fatalf("ua_public %s, want the RFC's", got)
	}
	plain, err := pushtest.Decrypt(b64(t, body), key, b64(t, auth))
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != "When I grow up, I want to be a watermelon" {
		t.Fatalf("plaintext %q", plain)
	}
	// Anything else does not decrypt.
	tampered := b64(t, body)
	tampered[len(tampered)-20] ^= 1
	if _, err := pushtest.Decrypt(tampered, key, b64(t, auth)); err == nil {
		t.Fatal("a tampered body decrypted")
	}
	otherAuth := b64(t, auth)
	otherAuth[0] ^= 1
	if _, err := pushtest.Decrypt(b64(t, body), key, otherAuth); err == nil {
		t.Fatal("decrypted with another auth secret")
	}
	other, _ := ecdh.P256().GenerateKey(rand.Reader)
	if _, err := pushtest.Decrypt(b64(t, body), other, b64(t, auth)); err == nil {
		t.Fatal("decrypted with another key")
	}
	short := b64(t, body)
	short[20] = 64 // idlen
	if _, err := pushtest.Decrypt(short, key, b64(t, auth)); err == nil || !strings.Contains(err.Error(), "idlen") {
		t.Fatalf("a keyid of 64 bytes: %v", err)
	}
	twoRecords := b64(t, body)
	copy(twoRecords[16:20], []byte{0, 0, 0, 20}) // rs 20: the ciphertext is longer than one record
	if _, err := pushtest.Decrypt(twoRecords, key, b64(t, auth)); err == nil || !strings.Contains(err.Error(), "one record") {
		t.Fatalf("a body of two records: %v", err)
	}
}

// jwt signs claims with key as ES256 and returns the vapid header.
func vapidHeader(t *testing.T, key *ecdsa.PrivateKey, head string, claims map[string]any) string {
	t.Helper()
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString([]byte(head)) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return "vapid t=" + signing + "." + base64.RawURLEncoding.EncodeToString(sig) + ", k=" + base64.RawURLEncoding.EncodeToString(pub)
}

func TestVerifyVAPID(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	const origin = "https://push.example.net"
	const es256 = `{"typ":"JWT","alg":"ES256"}`
	good := map[string]any{"aud": origin, "exp": now.Add(12 * time.Hour).Unix(), "sub": "mailto:ops@example.com"}
	c, err := pushtest.VerifyVAPID(vapidHeader(t, key, es256, good), origin, now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey.Bytes()
	if c.Aud != origin || c.Sub != "mailto:ops@example.com" || c.Key != base64.RawURLEncoding.EncodeToString(pub) {
		t.Fatalf("claims %+v", c)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	signedByOther := vapidHeader(t, other, es256, good)
	kOfKey := "k=" + base64.RawURLEncoding.EncodeToString(pub)
	signedByOther = signedByOther[:strings.Index(signedByOther, "k=")] + kOfKey
	for name, h := range map[string]string{
		"another origin":      vapidHeader(t, key, es256, with("aud", "https://push.example.org")),
		"expired":             vapidHeader(t, key, es256, with("exp", now.Add(-time.Minute).Unix())),
		"exp beyond 24 hours": vapidHeader(t, key, es256, with("exp", now.Add(25*time.Hour).Unix())),
		"no sub":              vapidHeader(t, key, es256, with("sub", nil)),
		"sub not a contact":   vapidHeader(t, key, es256, with("sub", "ops@example.com")),
		"sub mailto twice":    vapidHeader(t, key, es256, with("sub", "mailto:mailto:ops@example.com")),
		"alg none":            vapidHeader(t, key, `{"typ":"JWT","alg":"none"}`, good),
		"signed by another":   signedByOther,
		"bearer":              "Bearer abc",
		"no k":                strings.Split(vapidHeader(t, key, es256, good), ", k=")[0],
		"":                    "",
	} {
		if _, err := pushtest.VerifyVAPID(h, origin, now); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}
