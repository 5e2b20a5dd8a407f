package webpush_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/alerting/webpush/pushtest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// rig is a store, a push service, a sender and a dispatcher delivering
// through it.
type rig struct {
	st   alerting.Store
	svc  *pushtest.Service
	keys alerting.VAPIDKeys
	d    *webhook.Dispatcher
	reg  *prometheus.Registry
}

func newRig(t *testing.T) *rig { return newRigMax(t, 200*time.Millisecond) }

// newRigMax: backoffMax bounds the waits, a Retry-After's too.
func newRigMax(t *testing.T, backoffMax time.Duration) *rig {
	t.Helper()
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &rig{st: st, svc: startService(t), keys: genKeys(t), reg: prometheus.NewRegistry()}
	s := newSender(t, r.keys, webpush.Config{})
	r.d, err = webhook.New(webhook.Config{Store: st, Push: s, Timeout: 2 * time.Second, Poll: 20 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: backoffMax, MaxAttempts: 5, Registerer: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.d.Close() })
	return r
}

func (r *rig) subscribe(t *testing.T, team string) (*pushtest.Subscriber, alerting.PushSubscription) {
	t.Helper()
	sub, err := r.svc.Subscribe(r.keys.Public)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := r.st.PutPushSubscription(context.Background(), alerting.PushSubscription{Team: team, Endpoint: sub.Endpoint,
		P256dh: sub.P256dh(), Auth: sub.AuthSecret(), Subject: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	return sub, p
}

func (r *rig) appendEvent(t *testing.T, team, id string) alerting.Event {
	t.Helper()
	ev := alertingtest.Event(team, "w-1", id, "enter", time.Now())
	if err := r.st.AppendEvents(context.Background(), []alerting.Event{ev}); err != nil {
		t.Fatal(err)
	}
	r.d.Notify()
	return ev
}

// pushCount reads push_deliveries_total{result} summed over teams.
func (r *rig) pushCount(t *testing.T, result string) int {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "push_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}

func (r *rig) deadLetters(t *testing.T, team, id string) []alerting.DeadLetter {
	t.Helper()
	p, err := r.st.DeadLetters(context.Background(), alerting.DeadLetterQuery{Team: team, WebhookID: id, Target: alerting.TargetWebPush, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p.DeadLetters
}

// One outbox: an event goes to the team's webhook, signed, and to its push
// subscription, encrypted; the webhook's metrics count the webhook only.
func TestOneEventToAWebhookAndAPushSubscription(t *testing.T) {
	r := newRig(t)
	const secret = "dispatch-test-secret-0123"
	var mu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if webhook.Verify(secret, req.Header, b, time.Now(), webhook.DefaultWindow) == nil {
			mu.Lock()
			hooked = append(hooked, string(b))
			mu.Unlock()
		}
	}))
	defer hook.Close()
	if _, err := r.st.PutWebhook(context.Background(), alerting.Webhook{Team: "team_one", URL: hook.URL, Secret: secret, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "team_one")
	ev := r.appendEvent(t, "team_one", "e1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := r.svc.Wait(ctx, 1)
	if err != nil || string(msgs[0].Plaintext) != string(ev.JSON) {
		t.Fatalf("pushed %+v, %v", msgs, err)
	}
	testsupport.Eventually(t, 10*time.Second, "the webhook's delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hooked) == 1 && hooked[0] == string(ev.JSON)
	})
	testsupport.Eventually(t, 10*time.Second, "the push counted", func() bool { return r.pushCount(t, "delivered") == 1 })
	mfs, _ := r.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "webhook_deliveries_total" {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "webhook" && strings.HasPrefix(l.GetValue(), "ps_") {
						t.Fatalf("a push counted as a webhook delivery: %v", m)
					}
				}
			}
		}
	}
}

// A push service refusing a message for good (413, or a VAPID key the
// subscription was not made with) makes it a dead letter at once, with the
// status and the service's words; 404 and 410 delete the subscription.
func TestPushRefusalsAndGone(t *testing.T) {
	r := newRig(t)
	big, pbig := r.subscribe(t, "team_one")
	r.svc.SetAnswer(big, func(*pushtest.Subscriber, *http.Request) (int, http.Header) {
		return http.StatusRequestEntityTooLarge, nil
	})
	stranger, err := r.svc.Subscribe(genKeys(t).Public) // made with another key: 403
	if err != nil {
		t.Fatal(err)
	}
	pstranger, _, err := r.st.PutPushSubscription(context.Background(), alerting.PushSubscription{Team: "team_one",
		Endpoint: stranger.Endpoint, P256dh: stranger.P256dh(), Auth: stranger.AuthSecret()})
	if err != nil {
		t.Fatal(err)
	}
	gone, pgone := r.subscribe(t, "team_one")
	r.svc.Unsubscribe(gone)
	_, pfine := r.subscribe(t, "team_one")
	missing, pmissing := r.subscribe(t, "team_one")
	r.svc.SetAnswer(missing, func(*pushtest.Subscriber, *http.Request) (int, http.Header) { return http.StatusNotFound, nil })
	r.appendEvent(t, "team_one", "e1")

	testsupport.Eventually(t, 10*time.Second, "two dead letters, two subscriptions deleted, one delivery", func() bool {
		return r.pushCount(t, "dead_lettered") == 2 && r.pushCount(t, "expired") == 2 && r.pushCount(t, "delivered") == 1
	})
	for _, c := range []struct {
		id, want string
	}{{pbig.ID, "HTTP 413"}, {pstranger.ID, "HTTP 403: vapid k"}} {
		dl := r.deadLetters(t, "team_one", c.id)
		if len(dl) != 1 || dl[0].Attempts != 1 || !strings.HasPrefix(dl[0].LastError, c.want) || dl[0].Event.ID != "e1" {
			t.Fatalf("dead letters of %s: %+v, want one after one attempt, %q", c.id, dl, c.want)
		}
	}
	for _, id := range []string{pgone.ID, pmissing.ID} {
		if _, err := r.st.GetPushSubscription(context.Background(), "team_one", id); err == nil {
			t.Fatalf("subscription %s still there after the push service said it is gone", id)
		}
	}
	if _, err := r.st.GetPushSubscription(context.Background(), "team_one", pfine.ID); err != nil {
		t.Fatal(err)
	}
	if r.pushCount(t, "failed") != 0 {
		t.Fatalf("%d attempts retried: none should be", r.pushCount(t, "failed"))
	}
}

// 429 and 5xx are retried, a Retry-After honoured; past MaxAttempts the
// delivery is a dead letter.
func TestPushRetries(t *testing.T) {
	r := newRigMax(t, 2*time.Second)
	sub, p := r.subscribe(t, "team_one")
	var mu sync.Mutex
	var times []time.Time
	r.svc.SetAnswer(sub, func(*pushtest.Subscriber, *http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		switch len(times) {
		case 1:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		case 2:
			return http.StatusServiceUnavailable, nil
		}
		return 0, nil
	})
	ev := r.appendEvent(t, "team_one", "e1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := r.svc.Wait(ctx, 1)
	if err != nil || string(msgs[0].Plaintext) != string(ev.JSON) {
		t.Fatalf("pushed %+v, %v", msgs, err)
	}
	mu.Lock()
	if len(times) != 3 || times[1].Sub(times[0]) < 900*time.Millisecond {
		t.Fatalf("attempts at %v: want the second a second after the 429 (Retry-After: 1)", times)
	}
	mu.Unlock()

	// Always 500: dead after MaxAttempts (5).
	r.svc.SetAnswer(sub, func(*pushtest.Subscriber, *http.Request) (int, http.Header) {
		return http.StatusInternalServerError, nil
	})
	r.appendEvent(t, "team_one", "e2")
	testsupport.Eventually(t, 10*time.Second, "the dead letter after 5 attempts", func() bool { return len(r.deadLetters(t, "team_one", p.ID)) == 1 })
	if dl := r.deadLetters(t, "team_one", p.ID)[0]; dl.Attempts != 5 || !strings.HasPrefix(dl.LastError, "HTTP 500") {
		t.Fatalf("dead letter %+v", dl)
	}
}

// Without a Pusher, push deliveries wait (retried), and webhooks go on.
func TestDispatcherWithoutPusher(t *testing.T) {
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	d, err := webhook.New(webhook.Config{Store: st, Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond,
		BackoffMax: 40 * time.Millisecond, MaxAttempts: 100, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := &rig{st: st, reg: reg, d: d, svc: startService(t), keys: genKeys(t)}
	_, p := r.subscribe(t, "team_one")
	r.appendEvent(t, "team_one", "e1")
	testsupport.Eventually(t, 10*time.Second, "failed attempts", func() bool { return r.pushCount(t, "failed") >= 2 })
	if dl := r.deadLetters(t, "team_one", p.ID); len(dl) != 0 {
		t.Fatalf("dead letters %+v", dl)
	}
}
