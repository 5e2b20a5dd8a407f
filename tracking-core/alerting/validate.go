package alerting

import (
	"cmp"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Limits the stores check.
const (
	MaxDocument   = 1 << 20 // bytes of a definition's JSON
	MaxEventJSON  = 64 << 10
	MaxKinds      = 16 // kinds in a webhook's filter
	MaxURL        = 2048
	MinSecret     = 16
	MaxSecret     = 256
	MaxSubject    = 256 // bytes of a push subscription's subject
	maxKindLength = 32
)

// FieldError is an invalid_field error naming field.
func FieldError(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the not_found error of a missing definition, webhook...
func NotFound(format string, args ...any) *tracking.Error {
	return tracking.Errorf(tracking.CodeNotFound, format, args...)
}

// ValidKind checks that s is 1-32 chars of [a-z_] (a definition's or an
// event's kind).
func ValidKind(field, s string) error {
	if s == "" {
		return FieldError(field, "is required")
	}
	if len(s) > maxKindLength {
		return FieldError(field, "must be at most %d characters, got %d", maxKindLength, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return FieldError(field, "may contain only a-z and _, got %q", clip(s))
		}
	}
	return nil
}

// ValidDefinitionKey checks a definition's team, kind and id.
func ValidDefinitionKey(team, kind, id string) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	if err := ValidKind("kind", kind); err != nil {
		return err
	}
	return tracking.ValidateID("id", id, 64)
}

// Validate checks a definition given to PutDefinition.
func (d *Definition) Validate() error {
	if err := ValidDefinitionKey(d.Team, d.Kind, d.ID); err != nil {
		return err
	}
	if len(d.JSON) == 0 {
		return FieldError("json", "is required")
	}
	if len(d.JSON) > MaxDocument {
		return FieldError("json", "must be at most %d bytes, got %d", MaxDocument, len(d.JSON))
	}
	return nil
}

// ValidateEvents checks events given to AppendEvents; the error names the
// event by its index (events[3].kind).
func ValidateEvents(events []Event) error {
	for i := range events {
		e := &events[i]
		var err error
		switch {
		case e.Time.IsZero():
			err = FieldError("time", "is required")
		case len(e.JSON) == 0 || len(e.JSON) > MaxEventJSON || !json.Valid(e.JSON):
			err = FieldError("json", "must be a JSON document of at most %d bytes", MaxEventJSON)
		}
		err = cmp.Or(tracking.ValidateID("id", e.ID, 128), tracking.ValidTeam(e.Team),
			tracking.ValidateID("worker", e.Worker, 64), ValidKind("kind", e.Kind), err)
		if err == nil {
			continue
		}
		var te *tracking.Error
		if errors.As(err, &te) {
			named := *te
			named.Field = fmt.Sprintf("events[%d].%s", i, te.Field)
			return &named
		}
		return err
	}
	return nil
}

// Validate checks q and returns its cursor's position (zero without one).
func (q *EventQuery) Validate() (EventKey, error) {
	if err := tracking.ValidTeam(q.Team); err != nil {
		return EventKey{}, err
	}
	switch {
	case q.From.IsZero():
		return EventKey{}, FieldError("from", "is required")
	case q.To.IsZero():
		return EventKey{}, FieldError("to", "is required")
	case !q.To.After(q.From):
		return EventKey{}, FieldError("to", "must be after from (%s)", q.From.UTC().Format(time.RFC3339Nano))
	case q.Limit <= 0:
		return EventKey{}, FieldError("limit", "must be positive, got %d", q.Limit)
	}
	if q.Cursor == "" {
		return EventKey{}, nil
	}
	return ParseEventCursor(q.Cursor)
}

// EventKey is an event's place in a query's order.
type EventKey struct {
	Time time.Time
	ID   string
}

// IsZero reports whether k is no cursor.
func (k EventKey) IsZero() bool { return k.Time.IsZero() && k.ID == "" }

// Cursor encodes k, opaque and URL-safe.
func (k EventKey) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.Time.UnixNano(), 10) + "\x00" + k.ID))
}

// ParseEventCursor decodes EventKey.Cursor.
func ParseEventCursor(c string) (EventKey, error) {
	bad := FieldError("cursor", "is not a cursor of this API (pass a page's next unchanged)")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return EventKey{}, bad
	}
	ns, id, ok := strings.Cut(string(b), "\x00")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || tracking.ValidateID("id", id, 128) != nil {
		return EventKey{}, bad
	}
	return EventKey{Time: time.Unix(0, n).UTC(), ID: id}, nil
}

// Validate checks w for PutWebhook: the URL's form (an absolute http or
// https URL; whether plain http is allowed is webhook.CheckURL's policy),
// the secret (required when creating), the kinds.
func (w *Webhook) Validate() error {
	if err := tracking.ValidTeam(w.Team); err != nil {
		return err
	}
	if w.ID != "" {
		if err := tracking.ValidateID("id", w.ID, 64); err != nil {
			return err
		}
	}
	if w.URL == "" {
		return FieldError("url", "is required")
	}
	if len(w.URL) > MaxURL {
		return FieldError("url", "must be at most %d characters", MaxURL)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FieldError("url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return FieldError("url", "must not carry credentials (the signature authenticates the sender)")
	}
	if w.Secret == "" && w.ID == "" {
		return FieldError("secret", "is required (%d to %d characters)", MinSecret, MaxSecret)
	}
	if w.Secret != "" && (len(w.Secret) < MinSecret || len(w.Secret) > MaxSecret) {
		return FieldError("secret", "must be %d to %d characters, got %d", MinSecret, MaxSecret, len(w.Secret))
	}
	if len(w.Kinds) > MaxKinds {
		return FieldError("kinds", "must list at most %d kinds", MaxKinds)
	}
	for i, k := range w.Kinds {
		if err := ValidKind(fmt.Sprintf("kinds[%d]", i), k); err != nil {
			return err
		}
	}
	return nil
}

// MatchesKind reports whether w takes events of kind.
func (w *Webhook) MatchesKind(kind string) bool {
	if len(w.Kinds) == 0 {
		return true
	}
	for _, k := range w.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Validate checks p for PutPushSubscription and normalises its keys to
// unpadded base64url. The endpoint must be an https URL (a push service's),
// or http to a loopback host (a push service a test runs); the keys must be
// what a browser's PushSubscription.getKey gives: p256dh a P-256 public key
// (65 bytes, uncompressed), auth 16 bytes. Fields are named as in the JSON
// of a PushSubscription (endpoint, keys.p256dh, keys.auth).
func (p *PushSubscription) Validate() error {
	if err := tracking.ValidTeam(p.Team); err != nil {
		return err
	}
	if err := ValidEndpoint(p.Endpoint); err != nil {
		return err
	}
	if p.P256dh == "" {
		return FieldError("keys.p256dh", "is required")
	}
	b, err := DecodeKey(p.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(b)
	}
	if err != nil || len(b) != 65 {
		return FieldError("keys.p256dh", "must be the base64url of an uncompressed P-256 public key (65 bytes)")
	}
	p.P256dh = base64.RawURLEncoding.EncodeToString(b)
	if p.Auth == "" {
		return FieldError("keys.auth", "is required")
	}
	if b, err = DecodeKey(p.Auth); err != nil || len(b) != 16 {
		return FieldError("keys.auth", "must be the base64url of a 16-byte authentication secret")
	}
	p.Auth = base64.RawURLEncoding.EncodeToString(b)
	if len(p.Subject) > MaxSubject {
		return FieldError("subject", "must be at most %d bytes", MaxSubject)
	}
	if len(p.Kinds) > MaxKinds {
		return FieldError("kinds", "must list at most %d kinds", MaxKinds)
	}
	for i, k := range p.Kinds {
		if err := ValidKind(fmt.Sprintf("kinds[%d]", i), k); err != nil {
			return err
		}
	}
	return nil
}

// ValidEndpoint checks a push subscription's endpoint: an absolute https
// URL without credentials, or http to a loopback host (localhost,
// 127.0.0.0/8, ::1). The error names endpoint.
func ValidEndpoint(raw string) error {
	if raw == "" {
		return FieldError("endpoint", "is required")
	}
	if len(raw) > MaxURL {
		return FieldError("endpoint", "must be at most %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FieldError("endpoint", "must be an absolute https URL")
	}
	if u.User != nil {
		return FieldError("endpoint", "must not carry credentials")
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return FieldError("endpoint", "must be https (plain http only to a loopback host), got %s://%s", u.Scheme, clip(u.Host))
	}
	return nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DecodeKey decodes a key in base64url or standard base64, padded or not
// (browsers give unpadded base64url; some libraries the others).
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// MatchesKind reports whether p takes events of kind.
func (p *PushSubscription) MatchesKind(kind string) bool {
	return len(p.Kinds) == 0 || slices.Contains(p.Kinds, kind)
}

// Validate checks keys given to Store.VAPIDKeys: both present.
func (k VAPIDKeys) Validate() error {
	if k.Public == "" || k.Private == "" {
		return FieldError("vapid", "both keys are required")
	}
	return nil
}

// Validate checks r.
func (r *LeaseRequest) Validate() error {
	switch {
	case r.Now.IsZero():
		return FieldError("now", "is required")
	case r.For <= 0:
		return FieldError("for", "must be positive")
	case r.Max <= 0:
		return FieldError("max", "must be positive")
	}
	return nil
}

// Validate checks q and returns the id its cursor starts after (0: none).
func (q *DeadLetterQuery) Validate() (int64, error) {
	if err := tracking.ValidTeam(q.Team); err != nil {
		return 0, err
	}
	if err := tracking.ValidateID("webhook", q.WebhookID, 64); err != nil {
		return 0, err
	}
	if q.Target != "" && q.Target != TargetWebhook && q.Target != TargetWebPush {
		return 0, FieldError("target", "must be %s or %s", TargetWebhook, TargetWebPush)
	}
	if q.Limit <= 0 {
		return 0, FieldError("limit", "must be positive, got %d", q.Limit)
	}
	if q.Cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	n, err2 := strconv.ParseInt(string(b), 10, 64)
	if err != nil || err2 != nil || n <= 0 {
		return 0, FieldError("cursor", "is not a cursor of this API (pass a page's next unchanged)")
	}
	return n, nil
}

// DeadLetterCursor is the cursor of the page after dead letter id.
func DeadLetterCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// NewID returns a random id with prefix (webhook ids, lease tokens).
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
