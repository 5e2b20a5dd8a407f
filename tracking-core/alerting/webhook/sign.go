package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderEventID   = "X-Teamtrack-Event-Id"
	HeaderTimestamp = "X-Teamtrack-Timestamp"
	HeaderSignature = "X-Teamtrack-Signature"
	HeaderAttempt   = "X-Teamtrack-Attempt"
)

// DefaultWindow is the replay window receivers should allow: a request
// whose timestamp is farther than this from their clock is refused.
const DefaultWindow = 5 * time.Minute

// Sign returns the X-Teamtrack-Signature value of body sent at timestamp
// (Unix seconds, as in X-Teamtrack-Timestamp): "sha256=" and the hex
// HMAC-SHA256, keyed with secret, of "timestamp.body".
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver should: its timestamp within
// window of now, and its signature that of body under secret (compared in
// constant time). It is what the recipe in the package doc does, for
// receivers written in Go (and the tests).
func Verify(secret string, h http.Header, body []byte, now time.Time, window time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return errors.New("webhook: no valid " + HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("webhook: timestamp %d is %s from now, outside the %s window", ts, d.Round(time.Second), window)
	}
	got, ok := strings.CutPrefix(h.Get(HeaderSignature), "sha256=")
	if !ok {
		return errors.New("webhook: no sha256 " + HeaderSignature)
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return errors.New("webhook: " + HeaderSignature + " is not hex")
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "sha256="))
	if !hmac.Equal(sig, want) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}
