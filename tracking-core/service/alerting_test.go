package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/testsupport"
)

// The store opened on a HISTORY_DSN delivers through the Dispatcher, and
// the close func leaves no goroutine behind.
func TestOpenAlertsDeliversAndClosesInOrder(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var got atomic.Int32
	const secret = "service-test-secret-0123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret, r.Header, b, time.Now(), webhook.DefaultWindow) == nil {
			got.Add(1)
		}
	}))
	defer srv.Close()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "history.db")
	s := readWebhooks(config.Map(nil))
	closeAlerts, al, err := openAlerts(context.Background(), dsn, s, readPush(config.Map(nil)), 720*time.Hour, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer closeAlerts()
	ctx := context.Background()
	if _, err := al.Store.PutWebhook(ctx, alerting.Webhook{Team: "team_one", URL: srv.URL + "/hook", Secret: secret, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := al.Store.AppendEvents(ctx, []alerting.Event{alertingtest.Event("team_one", "w-1", "e1", "enter", time.Now())}); err != nil {
		t.Fatal(err)
	}
	al.Notify()
	testsupport.Eventually(t, 10*time.Second, "the signed delivery", func() bool { return got.Load() == 1 })
	closeAlerts() // and again, deferred: idempotent
}

func TestReadWebhooksRefusesBadValues(t *testing.T) {
	e := config.Map(map[string]string{"WEBHOOK_MAX_ATTEMPTS": "0", "WEBHOOK_ALLOW_HTTP": "maybe",
		"WEBHOOK_BACKOFF_BASE": "1m", "WEBHOOK_BACKOFF_MAX": "1s"})
	readWebhooks(e)
	err := e.Err()
	for _, name := range []string{"WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_ALLOW_HTTP", "WEBHOOK_BACKOFF_MAX"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	ok := config.Map(map[string]string{"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_TIMEOUT": "3s"})
	if s := readWebhooks(ok); !s.AllowHTTP || s.Timeout != 3*time.Second || s.MaxAttempts != 15 || ok.Err() != nil {
		t.Fatalf("%+v %v", s, ok.Err())
	}
}
