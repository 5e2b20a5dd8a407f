package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/testsupport"
)

// receiver is a webhook endpoint that checks every request as a receiver
// should (signature, window, id header = body id) and counts what arrived.
type receiver struct {
	t       *testing.T
	secrets map[string]string // by path
	status  atomic.Int32      // answered while not 0 (503, 500...)
	delay   func() time.Duration
	answer  func(r *http.Request) int // when set, decides the status

	mu       sync.Mutex
	got      map[string]int // path + " " + event id: 2xx answers
	requests int
	inflight map[string]int // path + " " + event id
	overlaps int
	invalid  []string
	maxConc  map[string]int // path: most requests at once
	conc     map[string]int
}

func newReceiver(t *testing.T) *receiver {
	return &receiver{t: t, secrets: map[string]string{}, got: map[string]int{}, inflight: map[string]int{},
		maxConc: map[string]int{}, conc: map[string]int{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.URL.Path + " " + r.Header.Get(webhook.HeaderEventID)
	rc.mu.Lock()
	rc.requests++
	secret, known := rc.secrets[r.URL.Path]
	var ev struct{ ID string }
	switch {
	case !known:
		rc.invalid = append(rc.invalid, "unknown path "+r.URL.Path)
	case webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultWindow) != nil:
		rc.invalid = append(rc.invalid, fmt.Sprintf("%s: %v", key, webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultWindow)))
	case json.Unmarshal(body, &ev) != nil || ev.ID != r.Header.Get(webhook.HeaderEventID) || ev.ID == "":
		rc.invalid = append(rc.invalid, fmt.Sprintf("%s: body id %q", key, ev.ID))
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		rc.invalid = append(rc.invalid, fmt.Sprintf("%s %s", r.Method, r.Header.Get("Content-Type")))
	}
	if rc.inflight[key] > 0 {
		rc.overlaps++
	}
	rc.inflight[key]++
	rc.conc[r.URL.Path]++
	rc.maxConc[r.URL.Path] = max(rc.maxConc[r.URL.Path], rc.conc[r.URL.Path])
	rc.mu.Unlock()
	if rc.delay != nil {
		select {
		case <-time.After(rc.delay()):
		case <-r.Context().Done():
		}
	}
	status := int(rc.status.Load())
	if rc.answer != nil {
		status = rc.answer(r)
	}
	if status == 0 {
		status = http.StatusNoContent
	}
	rc.mu.Lock()
	rc.inflight[key]--
	rc.conc[r.URL.Path]--
	if status < 300 {
		rc.got[key]++
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// unique returns how many distinct deliveries got a 2xx.
func (rc *receiver) unique() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func (rc *receiver) check() {
	rc.t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.invalid) > 0 {
		rc.t.Fatalf("%d requests failed verification, first: %s", len(rc.invalid), rc.invalid[0])
	}
}

func sqliteStore(t *testing.T) alerting.Store {
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// addHook creates an enabled webhook of team at base+path and tells rc its secret.
func addHook(t *testing.T, st alerting.Store, rc *receiver, team, base, path string) alerting.Webhook {
	t.Helper()
	secret := "secret-" + path + "-0123456789abcdef"
	w, err := st.PutWebhook(context.Background(), alerting.Webhook{Team: team, URL: base + path, Secret: secret, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secrets[path] = secret
	rc.mu.Unlock()
	return w
}

func appendEvents(t *testing.T, st alerting.Store, team, prefix string, n int) {
	t.Helper()
	var evs []alerting.Event
	for i := range n {
		evs = append(evs, alertingtest.Event(team, "w-1", fmt.Sprintf("%s-%03d", prefix, i), "enter", time.Now().Add(time.Duration(i)*time.Millisecond)))
	}
	if err := st.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func startDispatcher(t *testing.T, cfg webhook.Config) (*webhook.Dispatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	d, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, reg
}

// count sums webhook_deliveries_total{result} in reg.
func count(t *testing.T, reg *prometheus.Registry, result string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "webhook_deliveries_total" {
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

func TestDeliversSignedEventsToEachEndpoint(t *testing.T) {
	st := sqliteStore(t)
	rc := newReceiver(t)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	addHook(t, st, rc, "team_one", srv.URL, "/a")
	addHook(t, st, rc, "team_one", srv.URL, "/b")
	addHook(t, st, rc, "team_two", srv.URL, "/c")
	d, reg := startDispatcher(t, webhook.Config{Store: st, Timeout: 2 * time.Second, Poll: 20 * time.Millisecond})
	appendEvents(t, st, "team_one", "one", 20)
	appendEvents(t, st, "team_two", "two", 5)
	d.Notify()
	testsupport.Eventually(t, 10*time.Second, "45 deliveries", func() bool { return rc.unique() == 45 })
	rc.check()
	testsupport.Eventually(t, 5*time.Second, "the delivered counter", func() bool { return count(t, reg, "delivered") >= 45 })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// A receiver down for 30 s (3 s with -short), answering 503 or refusing
// connections, then back: every event arrives, signed; duplicates are
// allowed, so distinct ids are counted.
func TestReceiverDownThenBack(t *testing.T) {
	down := 30 * time.Second
	if testing.Short() {
		down = 3 * time.Second
	}
	for _, mode := range []string{"503", "refused"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			st := sqliteStore(t)
			rc := newReceiver(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			srv := httptest.NewUnstartedServer(rc)
			srv.Listener = ln
			if mode == "503" {
				rc.status.Store(http.StatusServiceUnavailable)
				srv.Start()
			} else {
				ln.Close() // nothing listens: connections are refused
			}
			defer func() { srv.Close() }()
			base := "http://" + addr
			addHook(t, st, rc, "team_one", base, "/a")
			addHook(t, st, rc, "team_one", base, "/b")
			d, reg := startDispatcher(t, webhook.Config{Store: st, Timeout: time.Second, Poll: 50 * time.Millisecond,
				BackoffBase: 100 * time.Millisecond, BackoffMax: 2 * time.Second, MaxAttempts: 1000})
			start := time.Now()
			appendEvents(t, st, "team_one", "before", 20)
			d.Notify()
			time.Sleep(down / 2) // the outage itself: events keep coming while it lasts
			appendEvents(t, st, "team_one", "during", 20)
			d.Notify()
			time.Sleep(time.Until(start.Add(down)))
			if rc.unique() != 0 {
				t.Fatalf("%d deliveries succeeded while the receiver was down", rc.unique())
			}
			if count(t, reg, "failed") == 0 {
				t.Fatal("no failed attempt counted while the receiver was down")
			}
			if mode == "503" {
				rc.status.Store(0)
			} else {
				testsupport.Eventually(t, 5*time.Second, "listening again on "+addr, func() bool {
					ln, err := net.Listen("tcp", addr)
					if err != nil {
						return false
					}
					srv = httptest.NewUnstartedServer(rc)
					srv.Listener = ln
					srv.Start()
					return true
				})
			}
			appendEvents(t, st, "team_one", "after", 10)
			d.Notify()
			testsupport.Eventually(t, 20*time.Second, "all 100 deliveries after the receiver came back", func() bool { return rc.unique() == 100 })
			rc.check()
			if n := count(t, reg, "dead_lettered"); n != 0 {
				t.Fatalf("%d dead letters", n)
			}
		})
	}
}

func TestDeadLettersThenReplay(t *testing.T) {
	st := sqliteStore(t)
	rc := newReceiver(t)
	rc.status.Store(http.StatusInternalServerError)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w := addHook(t, st, rc, "team_one", srv.URL, "/a")
	d, reg := startDispatcher(t, webhook.Config{Store: st, Timeout: time.Second, Poll: 20 * time.Millisecond,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, MaxAttempts: 3})
	appendEvents(t, st, "team_one", "e", 5)
	d.Notify()
	var page alerting.DeadLetterPage
	testsupport.Eventually(t, 10*time.Second, "5 dead letters", func() bool {
		var err error
		page, err = st.DeadLetters(context.Background(), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 10})
		return err == nil && len(page.DeadLetters) == 5
	})
	for _, dl := range page.DeadLetters {
		if dl.Attempts != 3 || dl.LastError != "HTTP 500" {
			t.Fatalf("dead letter %+v: want 3 attempts, HTTP 500", dl)
		}
	}
	// The counters move once the store has the outcome, a moment after.
	testsupport.Eventually(t, 10*time.Second, "the failed and dead-lettered counters", func() bool {
		return count(t, reg, "failed") >= 10 && count(t, reg, "dead_lettered") >= 5
	})
	rc.mu.Lock()
	requests := rc.requests
	rc.mu.Unlock()
	if requests != 15 || count(t, reg, "failed") != 10 || count(t, reg, "dead_lettered") != 5 {
		t.Fatalf("%d requests, %d failed, %d dead: want 15, 10, 5", requests, count(t, reg, "failed"), count(t, reg, "dead_lettered"))
	}
	rc.status.Store(0)
	if n, err := st.Replay(context.Background(), "team_one", w.ID, []int64{page.DeadLetters[0].ID}); err != nil || n != 1 {
		t.Fatalf("Replay one: %d, %v", n, err)
	}
	d.Notify()
	testsupport.Eventually(t, 10*time.Second, "the replayed delivery", func() bool { return rc.unique() == 1 })
	if n, err := st.Replay(context.Background(), "team_one", w.ID, nil); err != nil || n != 4 {
		t.Fatalf("Replay all: %d, %v", n, err)
	}
	d.Notify()
	testsupport.Eventually(t, 10*time.Second, "all 5 delivered", func() bool { return rc.unique() == 5 })
	rc.check()
}

// One endpoint that never answers in time holds up only its own deliveries,
// and never has more than PerEndpoint requests at once.
func TestSlowEndpointDoesNotHoldUpOthers(t *testing.T) {
	st := sqliteStore(t)
	rc := newReceiver(t)
	release := make(chan struct{})
	rc.delay = func() time.Duration { return time.Hour }
	rc.answer = func(r *http.Request) int { return 0 }
	fast := newReceiver(t)
	slowSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		default:
			rc.ServeHTTP(w, r)
		}
	}))
	defer slowSrv.Close()
	defer close(release)
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()
	addHook(t, st, rc, "team_one", slowSrv.URL, "/slow")
	addHook(t, st, fast, "team_one", fastSrv.URL, "/fast")
	d, _ := startDispatcher(t, webhook.Config{Store: st, Timeout: 3 * time.Second, Poll: 20 * time.Millisecond, PerEndpoint: 2})
	appendEvents(t, st, "team_one", "e", 30)
	d.Notify()
	testsupport.Eventually(t, 10*time.Second, "the fast endpoint's 30 deliveries", func() bool { return fast.unique() == 30 })
	rc.mu.Lock()
	most := rc.maxConc["/slow"]
	rc.mu.Unlock()
	if most > 2 {
		t.Fatalf("%d requests at once to the slow endpoint, PerEndpoint 2", most)
	}
	fast.check()
}

func TestNewRefusesBadConfig(t *testing.T) {
	st := sqliteStore(t)
	for _, cfg := range []webhook.Config{
		{},
		{Store: st, Timeout: 10 * time.Second, Lease: 5 * time.Second},
		{Store: st, BackoffBase: time.Minute, BackoffMax: time.Second},
	} {
		if d, err := webhook.New(cfg); err == nil {
			d.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// jitter returns a random duration up to max, for receivers' delays.
func jitter(max time.Duration) func() time.Duration {
	return func() time.Duration { return rand.N(max) }
}
