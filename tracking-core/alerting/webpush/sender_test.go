package webpush_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/alerting/webpush/pushtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startService(t *testing.T) *pushtest.Service {
	t.Helper()
	svc, err := pushtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func newSender(t *testing.T, keys alerting.VAPIDKeys, cfg webpush.Config) *webpush.Sender {
	t.Helper()
	cfg.Keys = webpush.FixedKeys(keys)
	s, err := webpush.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func genKeys(t *testing.T) alerting.VAPIDKeys {
	t.Helper()
	k, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func deliveryTo(sub *pushtest.Subscriber, ev alerting.Event) alerting.Delivery {
	return alerting.Delivery{ID: 1, Team: ev.Team, WebhookID: "ps_1", Target: alerting.TargetWebPush, URL: sub.Endpoint,
		P256dh: sub.P256dh(), Auth: sub.AuthSecret(), Event: ev}
}

// A push reaches the push service signed per RFC 8292 and encrypted per
// RFC 8291: pushtest checks the token and decrypts, independently of the
// library, and the plaintext is the event's JSON byte for byte.
func TestSenderPushesPerTheRFCs(t *testing.T) {
	svc := startService(t)
	keys := genKeys(t)
	sub, err := svc.Subscribe(keys.Public)
	if err != nil {
		t.Fatal(err)
	}
	s := newSender(t, keys, webpush.Config{Subject: "mailto:ops@example.com", TTL: time.Hour})
	if pk, err := s.PublicKey(context.Background()); err != nil || pk != keys.Public {
		t.Fatalf("PublicKey: %q, %v", pk, err)
	}
	ev := alertingtest.Event("team_one", "w-1", "e1", "enter", time.Now())
	// The event's JSON with room after it, which must stay as it is.
	backing := append(append([]byte{}, ev.JSON...), []byte("SENTINEL")...)
	ev.JSON = backing[:len(ev.JSON)]
	ans, err := s.Push(context.Background(), deliveryTo(sub, ev))
	if err != nil || ans.Status != http.StatusCreated {
		t.Fatalf("Push: %+v, %v (refused: %v)", ans, err, svc.Refused())
	}
	if string(backing[len(ev.JSON):]) != "SENTINEL" {
		t.Fatal("Push wrote past the event's JSON")
	}
	msgs := svc.Messages()
	if len(msgs) != 1 || string(msgs[0].Plaintext) != string(ev.JSON) {
		t.Fatalf("messages %+v, want the event's JSON", msgs)
	}
	m := msgs[0]
	if m.TTL != 3600 || m.Urgency != "high" || m.Claims.Sub != "mailto:ops@example.com" || m.Claims.Aud != svc.URL ||
		m.Claims.Key != keys.Public || m.Claims.Exp.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("message %+v", m)
	}

	// A subscription made with another application server key: 403.
	stranger, _ := svc.Subscribe(genKeys(t).Public)
	if ans, err := s.Push(context.Background(), deliveryTo(stranger, ev)); err != nil || ans.Status != http.StatusForbidden || !strings.Contains(ans.Detail, "not the key") {
		t.Fatalf("push to a subscription of another key: %+v, %v", ans, err)
	}
	// An https subject stays as it is.
	https := newSender(t, keys, webpush.Config{Subject: "https://ops.example.com/contact"})
	if _, err := https.Push(context.Background(), deliveryTo(sub, ev)); err != nil {
		t.Fatal(err)
	}
	if msgs := svc.Messages(); len(msgs) != 2 || msgs[1].Claims.Sub != "https://ops.example.com/contact" || msgs[1].TTL != 86400 {
		t.Fatalf("with an https subject and the default TTL: %+v", msgs[1])
	}
	if r := svc.Refused(); len(r) != 1 {
		t.Fatalf("refused %v: want only the push of another key", r)
	}
}

// MaxPayload is the largest event a push message carries: it arrives
// whole; one byte more is undeliverable, without a request.
func TestSenderMaxPayload(t *testing.T) {
	svc := startService(t)
	keys := genKeys(t)
	sub, _ := svc.Subscribe(keys.Public)
	s := newSender(t, keys, webpush.Config{})
	ev := alertingtest.Event("team_one", "w-1", "e1", "enter", time.Now())
	ev.JSON = []byte(`{"pad":"` + strings.Repeat("x", webpush.MaxPayload-10) + `"}`)
	if len(ev.JSON) != webpush.MaxPayload {
		t.Fatalf("made %d bytes", len(ev.JSON))
	}
	if ans, err := s.Push(context.Background(), deliveryTo(sub, ev)); err != nil || ans.Status != http.StatusCreated {
		t.Fatalf("push of %d bytes: %+v, %v (refused %v)", len(ev.JSON), ans, err, svc.Refused())
	}
	if msgs := svc.Messages(); len(msgs) != 1 || string(msgs[0].Plaintext) != string(ev.JSON) {
		t.Fatal("the largest event did not arrive whole")
	}
	ev.JSON = []byte(`{"pad":"` + strings.Repeat("x", webpush.MaxPayload-9) + `"}`)
	if _, err := s.Push(context.Background(), deliveryTo(sub, ev)); !errors.Is(err, webhook.ErrUndeliverable) {
		t.Fatalf("push of %d bytes: %v, want ErrUndeliverable", len(ev.JSON), err)
	}
	if svc.Pushes() != 1 {
		t.Fatalf("%d requests: the too large one was sent", svc.Pushes())
	}
}

func TestCheckKeys(t *testing.T) {
	k := genKeys(t)
	if got, err := webpush.CheckKeys(k); err != nil || got != k {
		t.Fatalf("CheckKeys of a generated pair: %+v, %v", got, err)
	}
	other := genKeys(t)
	for name, c := range map[string]struct {
		keys alerting.VAPIDKeys
		key  string
	}{
		"private not base64":      {alerting.VAPIDKeys{Public: k.Public, Private: "!!"}, "private"},
		"private too short":       {alerting.VAPIDKeys{Public: k.Public, Private: k.Private[:20]}, "private"},
		"private zero":            {alerting.VAPIDKeys{Public: k.Public, Private: strings.Repeat("A", 43)}, "private"},
		"public missing":          {alerting.VAPIDKeys{Private: k.Private}, "public"},
		"public of another pair":  {alerting.VAPIDKeys{Public: other.Public, Private: k.Private}, "public"},
		"public not a point size": {alerting.VAPIDKeys{Public: k.Public[:40], Private: k.Private}, "public"},
	} {
		_, err := webpush.CheckKeys(c.keys)
		var ke *webpush.KeyError
		if !errors.As(err, &ke) || ke.Key != c.key {
			t.Errorf("%s: %v, want a KeyError about the %s key", name, err, c.key)
		}
		if err != nil && strings.Contains(err.Error(), k.Private) {
			t.Errorf("%s: the error shows the private key", name)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	keys := webpush.FixedKeys(genKeys(t))
	for _, c := range []webpush.Config{
		{},
		{Keys: keys, Subject: "ops@example.com"},
		{Keys: keys, Subject: "http://example.com"},
		{Keys: keys, Urgency: "urgent"},
	} {
		if s, err := webpush.New(c); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"soon":                          0,
		"Fri, 01 May 2026 12:00:30 GMT": 30 * time.Second,
		"Fri, 01 May 2026 11:00:00 GMT": 0,
	} {
		if got := webpush.RetryAfter(v, now); got != want {
			t.Errorf("RetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

// Keys generated by one replica are the keys of every replica on the
// database, and stay across restarts.
func TestStoredKeysAreShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	var got []alerting.VAPIDKeys
	for range 3 {
		st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		k, err := webpush.StoredKeys(st)(context.Background())
		_ = st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := webpush.CheckKeys(k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Fatalf("keys changed across opens: %+v", got)
	}
}
