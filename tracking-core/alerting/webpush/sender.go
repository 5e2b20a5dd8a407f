package webpush

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
)

// MaxPayload is the most bytes of event JSON one push message carries: push
// services take bodies of 4096 bytes (RFC 8030 section 7.2), one aes128gcm
// record of which 86 are its header, 16 its tag and 1 the padding delimiter.
// A larger event is a dead letter.
const MaxPayload = 4096 - 86 - 16 - 1

// Defaults of Config.
const (
	DefaultSubject = "mailto:ops@localhost"
	DefaultTTL     = 24 * time.Hour
	DefaultUrgency = "high"
)

// Config of a Sender.
type Config struct {
	// Keys returns the VAPID key pair (FixedKeys, StoredKeys). It is called
	// until it succeeds, then its pair is kept. Required.
	Keys func(ctx context.Context) (alerting.VAPIDKeys, error)
	// Subject is the contact in every VAPID token (its sub claim), a
	// mailto: or https: URL, so that a push service can reach whoever runs
	// the sender. Default DefaultSubject (push services may refuse a
	// localhost contact: set a real one in production).
	Subject string
	// TTL is how long a push service keeps a message for a browser that is
	// not reachable, in whole seconds (the TTL header). Default DefaultTTL.
	TTL time.Duration
	// Urgency is the Urgency header (very-low, low, normal, high). Default
	// DefaultUrgency: an alert is for now.
	Urgency string
	// Client sends the pushes; it should not follow redirects. Default: a
	// client of its own that does not.
	Client *http.Client
	// Logger receives the sender's logs. Default: discard.
	Logger *slog.Logger
}

// Sender pushes deliveries to push subscriptions: a webhook.Pusher.
type Sender struct {
	cfg    Config
	client *http.Client
	ownsTr *http.Transport
	log    *slog.Logger

	mu   sync.Mutex
	keys alerting.VAPIDKeys // once loaded
}

var _ webhook.Pusher = (*Sender)(nil)

// New returns a Sender; its keys are loaded on first use.
func New(cfg Config) (*Sender, error) {
	if cfg.Keys == nil {
		return nil, errors.New("webpush: no Keys")
	}
	cfg.Subject = cmp.Or(cfg.Subject, DefaultSubject)
	if err := CheckSubject(cfg.Subject); err != nil {
		return nil, fmt.Errorf("webpush: subject: %w", err)
	}
	cfg.TTL = cmp.Or(max(cfg.TTL, 0), DefaultTTL)
	cfg.Urgency = cmp.Or(cfg.Urgency, DefaultUrgency)
	switch cfg.Urgency {
	case "very-low", "low", "normal", "high":
	default:
		return nil, fmt.Errorf("webpush: urgency %q: want very-low, low, normal or high", cfg.Urgency)
	}
	s := &Sender{cfg: cfg, client: cfg.Client, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
	if s.client == nil {
		s.ownsTr = http.DefaultTransport.(*http.Transport).Clone()
		s.client = &http.Client{Transport: s.ownsTr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return s, nil
}

// CheckSubject checks a VAPID subject: a mailto: or https: URL.
func CheckSubject(sub string) error {
	u, err := url.Parse(sub)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"):
		return nil
	case u.Scheme == "https" && u.Host != "":
		return nil
	}
	return errors.New("want a mailto: address or an https: URL")
}

// Close releases the idle connections of a client New made.
func (s *Sender) Close() {
	if s.ownsTr != nil {
		s.ownsTr.CloseIdleConnections()
	}
}

// PublicKey returns the VAPID public key in unpadded base64url: the
// applicationServerKey browsers subscribe with.
func (s *Sender) PublicKey(ctx context.Context) (string, error) {
	k, err := s.loadKeys(ctx)
	return k.Public, err
}

// loadKeys returns the keys, loading them the first time. Concurrent first
// calls each load (outside the lock, each within its own ctx): Keys gives
// them all the same pair (StoredKeys: the one stored first).
func (s *Sender) loadKeys(ctx context.Context) (alerting.VAPIDKeys, error) {
	s.mu.Lock()
	k := s.keys
	s.mu.Unlock()
	if !k.IsZero() {
		return k, nil
	}
	k, err := s.cfg.Keys(ctx)
	if err != nil {
		return alerting.VAPIDKeys{}, fmt.Errorf("VAPID keys: %w", err)
	}
	s.mu.Lock()
	first := s.keys.IsZero()
	if first {
		s.keys = k
	}
	k = s.keys
	s.mu.Unlock()
	if first {
		s.log.Info("web push: VAPID keys loaded", "public_key", k.Public, "subject", s.cfg.Subject)
	}
	return k, nil
}

// Push implements webhook.Pusher: one push of d's event to d's
// subscription, within ctx.
func (s *Sender) Push(ctx context.Context, d alerting.Delivery) (webhook.PushAnswer, error) {
	if len(d.Event.JSON) > MaxPayload {
		return webhook.PushAnswer{}, fmt.Errorf("%w: the event is %d bytes, more than the %d of a push message",
			webhook.ErrUndeliverable, len(d.Event.JSON), MaxPayload)
	}
	k, err := s.loadKeys(ctx)
	if err != nil {
		return webhook.PushAnswer{}, err
	}
	// A copy: the library pads the message in place, past its length.
	msg := slices.Clone(d.Event.JSON)
	resp, err := webpushgo.SendNotificationWithContext(ctx, msg,
		&webpushgo.Subscription{Endpoint: d.URL, Keys: webpushgo.Keys{Auth: d.Auth, P256dh: d.P256dh}},
		&webpushgo.Options{
			HTTPClient: s.client,
			// The library prefixes mailto: to anything not https:.
			Subscriber:      strings.TrimPrefix(s.cfg.Subject, "mailto:"),
			TTL:             int(s.cfg.TTL / time.Second),
			Urgency:         webpushgo.Urgency(s.cfg.Urgency),
			VAPIDPublicKey:  k.Public,
			VAPIDPrivateKey: k.Private,
		})
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // no answer; without the URL, a capability
			return webhook.PushAnswer{}, ue.Err
		}
		// Made before any request: the keys or the endpoint do not work.
		return webhook.PushAnswer{}, fmt.Errorf("%w: %w", webhook.ErrUndeliverable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	return webhook.PushAnswer{Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Detail: detail(body)}, nil
}

// RetryAfter parses a Retry-After value, seconds or an HTTP date, as a wait
// from now; 0 when absent or in the past.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// detail is the start of an answer's body as text, for a dead letter.
func detail(b []byte) string {
	const most = 200
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > most {
		s = s[:most]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}
