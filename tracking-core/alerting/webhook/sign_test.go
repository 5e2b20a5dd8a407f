package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting/webhook"
)

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"id":"e1","kind":"enter"}`)
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign("s3cret-s3cret-s3cret", now.Unix(), body))
	if !strings.HasPrefix(h.Get(webhook.HeaderSignature), "sha256=") || len(h.Get(webhook.HeaderSignature)) != 7+64 {
		t.Fatalf("signature %q", h.Get(webhook.HeaderSignature))
	}
	if err := webhook.Verify("s3cret-s3cret-s3cret", h, body, now.Add(time.Minute), webhook.DefaultWindow); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for name, c := range map[string]struct {
		secret string
		body   string
		now    time.Time
	}{
		"tampered body": {"s3cret-s3cret-s3cret", `{"id":"e2","kind":"enter"}`, now},
		"wrong secret":  {"another-secret-here", string(body), now},
		"too old":       {"s3cret-s3cret-s3cret", string(body), now.Add(6 * time.Minute)},
		"too new":       {"s3cret-s3cret-s3cret", string(body), now.Add(-6 * time.Minute)},
	} {
		if err := webhook.Verify(c.secret, h, []byte(c.body), c.now, webhook.DefaultWindow); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// A known vector, so that receivers in other languages can check theirs:
	// HMAC-SHA256("key-key-key-key!", "1700000000.{}").
	if got := webhook.Sign("key-key-key-key!", 1700000000, []byte(`{}`)); got != knownVector {
		t.Fatalf("Sign of the known vector: %s", got)
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://hooks.example.com/x?y=1", false, true},
		{"http://127.0.0.1:9000/hook", false, true},
		{"http://localhost/hook", false, true},
		{"http://[::1]:80/hook", false, true},
		{"http://hooks.example.com/x", false, false},
		{"http://hooks.example.com/x", true, true},
		{"ftp://hooks.example.com/x", true, false},
		{"hooks.example.com/x", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"", false, false},
	} {
		err := webhook.CheckURL(c.url, c.allowHTTP)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, allowHTTP=%v): %v", c.url, c.allowHTTP, err)
		}
		if err != nil && (tracking.ErrorCode(err) != tracking.CodeInvalidField || !strings.HasPrefix(tracking.ErrorMessage(err), "url: ")) {
			t.Errorf("CheckURL(%q): error %v does not name url", c.url, err)
		}
	}
}

// knownVector is computed independently: python3 -c "import hmac,hashlib;
// print(hmac.new(b'key-key-key-key!', b'1700000000.{}', hashlib.sha256).hexdigest())"
const knownVector = "sha256=a1c4d74d536a9ade28fbf2423aadb97a1b572a7c60fb4463f9956aaf72943255"
