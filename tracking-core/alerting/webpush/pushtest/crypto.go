package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// This file is the receiving side of Web Push written from the RFCs alone
// (no Web Push library), so that a test of a sender checks the sender
// against the RFCs rather than against itself.

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Decrypt decrypts the body of a push message as the browser holding the
// subscription does: an aes128gcm content coding (RFC 8188) whose header
// names the sender's ephemeral public key, keyed per RFC 8291 section 3.4
// from ECDH between it and the subscriber's key and from the subscriber's
// authentication secret; one record, padded, ending with the delimiter 2.
// It returns the plaintext.
func Decrypt(body []byte, key *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	// RFC 8188 section 2.1: salt (16) | rs (4) | idlen (1) | keyid (idlen).
	if len(body) < 21 {
		return nil, fmt.Errorf("body of %d bytes: shorter than an aes128gcm header", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	// RFC 8291 section 4: keyid is the sender's public key, uncompressed.
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("idlen %d: want the sender's 65-byte public key as keyid", idlen)
	}
	asPublic, ciphertext := body[21:21+idlen], body[21+idlen:]
	if rs < 18 {
		return nil, fmt.Errorf("record size %d: below the least, 18", rs)
	}
	// RFC 8291 section 4: one record. A record is rs bytes, tag included.
	if len(ciphertext) > int(rs) {
		return nil, fmt.Errorf("%d bytes of ciphertext in records of %d: more than one record", len(ciphertext), rs)
	}
	if len(ciphertext) < 17 {
		return nil, fmt.Errorf("%d bytes of ciphertext: not a record", len(ciphertext))
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("keyid is not a P-256 public key: %w", err)
	}
	ecdhSecret, err := key.ECDH(as)
	if err != nil {
		return nil, err
	}
	uaPublic := key.PublicKey().Bytes()
	// RFC 8291 section 3.4:
	//   PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret)
	//   key_info = "WebPush: info" || 0x00 || ua_public || as_public
	//   IKM = HMAC-SHA-256(PRK_key, key_info || 0x01)
	prkKey := hmacSHA256(auth, ecdhSecret)
	keyInfo := append(append([]byte("WebPush: info\x00"), uaPublic...), asPublic...)
	ikm := hmacSHA256(prkKey, keyInfo, []byte{1})
	// RFC 8188 section 2.2 and 2.3:
	//   PRK = HMAC-SHA-256(salt, IKM)
	//   CEK = HMAC-SHA-256(PRK, "Content-Encoding: aes128gcm" || 0x00 || 0x01)[:16]
	//   NONCE = HMAC-SHA-256(PRK, "Content-Encoding: nonce" || 0x00 || 0x01)[:12]
	// and the nonce of record 0 is NONCE xor 0.
	prk := hmacSHA256(salt, ikm)
	cek := hmacSHA256(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := hmacSHA256(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	padded, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, errors.New("the record does not decrypt (wrong keys, or not encrypted per RFC 8291)")
	}
	// RFC 8188 section 2: the plaintext, a delimiter (2 in the last
	// record), then zeros.
	i := len(padded) - 1
	for i >= 0 && padded[i] == 0 {
		i--
	}
	if i < 0 || padded[i] != 2 {
		return nil, errors.New("no padding delimiter 2 after the plaintext: not the last record")
	}
	return padded[:i], nil
}

// Claims are what a VAPID token says (RFC 8292 section 2).
type Claims struct {
	Aud string    // the push service's origin
	Sub string    // the sender's contact
	Exp time.Time // when the token expires
	// Key is the sender's public key (the k parameter), unpadded base64url.
	Key string
}

// VerifyVAPID checks an Authorization header as a push service does (RFC
// 8292): the vapid scheme with t (a JWT) and k (the public key, base64url
// of an uncompressed P-256 point); the JWT's ES256 signature valid for k;
// its aud the push resource's origin (scheme://host), exp in the future and
// at most 24 hours ahead of now, and a sub (mailto: or https:).
func VerifyVAPID(header, origin string, now time.Time) (Claims, error) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return Claims{}, fmt.Errorf("authorization %q: want the vapid scheme", clip(header))
	}
	var token, k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			token = strings.TrimSpace(value)
		case "k":
			k = strings.TrimSpace(value)
		}
	}
	if token == "" || k == "" {
		return Claims{}, errors.New("vapid: want both t and k")
	}
	kb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "="))
	if err != nil || len(kb) != 65 {
		return Claims{}, errors.New("vapid k: want the base64url of an uncompressed P-256 public key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return Claims{}, fmt.Errorf("vapid k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("vapid t: not a JWS compact serialization")
	}
	var head struct{ Alg, Typ string }
	if err := decodeSegment(parts[0], &head); err != nil || head.Alg != "ES256" {
		return Claims{}, fmt.Errorf("vapid t: header %+v: want alg ES256", head)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return Claims{}, errors.New("vapid t: want a 64-byte ES256 signature (r || s)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return Claims{}, errors.New("vapid t: the signature is not k's")
	}
	var body struct {
		Aud string          `json:"aud"`
		Sub string          `json:"sub"`
		Exp json.RawMessage `json:"exp"`
	}
	if err := decodeSegment(parts[1], &body); err != nil {
		return Claims{}, fmt.Errorf("vapid t: claims: %w", err)
	}
	var exp int64
	if err := json.Unmarshal(body.Exp, &exp); err != nil {
		return Claims{}, errors.New("vapid t: exp is not a number of seconds")
	}
	c := Claims{Aud: body.Aud, Sub: body.Sub, Exp: time.Unix(exp, 0), Key: base64.RawURLEncoding.EncodeToString(kb)}
	switch {
	case c.Aud != origin:
		return c, fmt.Errorf("vapid t: aud %q, want the push service's origin %q", c.Aud, origin)
	case !c.Exp.After(now):
		return c, fmt.Errorf("vapid t: expired at %s", c.Exp.UTC().Format(time.RFC3339))
	case c.Exp.After(now.Add(24 * time.Hour)):
		return c, fmt.Errorf("vapid t: exp %s is more than 24 hours ahead", c.Exp.UTC().Format(time.RFC3339))
	case !validSub(c.Sub):
		return c, fmt.Errorf("vapid t: sub %q: want a mailto: or https: contact", c.Sub)
	}
	return c, nil
}

// validSub: a mailto: URL of one address, or an https: URL.
func validSub(sub string) bool {
	u, err := url.Parse(sub)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "mailto":
		return strings.Count(u.Opaque, "@") == 1 && !strings.Contains(u.Opaque, ":")
	case "https":
		return u.Host != ""
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
