package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/alerting/webpush/pushtest"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
)

var pushTestSecret = []byte("push-test-secret-0123456789abcdef0123")

// pushReplica is a replica as Main starts it with HISTORY_DSN on a SQLite
// file (openAlerts with the settings read from env), requiring tokens.
type pushReplica struct {
	url   string
	al    *httpapi.Alerts
	iss   *auth.Issuer
	count func(name, result string) float64
}

func startPushReplica(t *testing.T, env map[string]string) *pushReplica {
	t.Helper()
	e := config.Map(env)
	ws, ps := readWebhooks(e), readPush(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "history.db")
	closeAlerts, al, err := openAlerts(context.Background(), dsn, ws, ps, 720*time.Hour, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAlerts) // after the replica stopped (cleanups run last first)
	v, err := auth.NewHS256(pushTestSecret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer(pushTestSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{HTTPAddr: "127.0.0.1:0", Registry: reg, ShutdownTimeout: 5 * time.Second,
		API: httpapi.Config{Verifier: v, Alerts: al, RecordsPerSecond: -1, DefinitionsPoll: 50 * time.Millisecond}},
		memory.New(memory.NewBackend(), memory.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica: %v", err)
		}
	})
	count := func(name, result string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				match := result == ""
				for _, l := range m.GetLabel() {
					match = match || (l.GetName() == "result" && l.GetValue() == result)
				}
				if match {
					n += m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
		return n
	}
	return &pushReplica{url: fmt.Sprintf("http://%s", s.Addr()), al: al, iss: iss, count: count}
}

// noLeaks checks, after every other cleanup of t, that nothing t started
// is left running.
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

func (r *pushReplica) token(t *testing.T, c auth.Claims) string {
	t.Helper()
	tok, err := r.iss.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func call(t *testing.T, method, u, tok, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The fence of the test: a circle of 100 m.
const pushFenceLat, pushFenceLon = -23.55, -46.63

// walk sends the worker's fixes dNorth metres north of the fence's centre.
func walk(t *testing.T, r *pushReplica, tok, team, worker string, seq *int, at time.Time, dNorth ...float64) {
	t.Helper()
	var body []byte
	for i, d := range dNorth {
		*seq++
		acc := 5.0
		p := tracking.Position{ID: fmt.Sprintf("%s.%d", worker, *seq), WorkerID: worker, Team: team,
			Location:  tracking.Location{Latitude: pushFenceLat + d/110_800, Longitude: pushFenceLon},
			TimeStamp: at.Add(time.Duration(i) * time.Second).UTC(), Accuracy: &acc}
		body = append(wire.AppendPosition(body, &p), '\n')
	}
	if code, b := call(t, "POST", r.url+"/tracking", tok, "application/x-ndjson", body); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}
}

// subscribe registers sub through the API, as the view does after the
// manager allowed notifications.
func subscribe(t *testing.T, r *pushReplica, mgr, team string, sub *pushtest.Subscriber) string {
	t.Helper()
	code, b := call(t, "POST", r.url+"/tracking/"+team+"/push/subscriptions", mgr, "application/json", sub.JSON())
	var v struct{ ID, Endpoint, Subject string }
	if code != http.StatusCreated || json.Unmarshal(b, &v) != nil || v.Endpoint != sub.Endpoint || v.Subject != "m1" {
		t.Fatalf("subscribe: %d %s", code, b)
	}
	return v.ID
}

// A fence alert reaches a manager's browser by Web Push with no map open:
// the subscription is made through the API of a replica started as Main
// starts it (its VAPID keys generated and kept in the database), a worker
// walks into a fence, and the push service the test runs gets the push,
// its VAPID token valid for the key the browser subscribed with (RFC
// 8292), its body decrypting with the browser's keys (RFC 8291) to the
// event's JSON, byte for byte. A 410 from the push service deletes the
// subscription; a push service down gets the push when it is back.
func TestWebPushEndToEnd(t *testing.T) {
	noLeaks(t)
	ps, err := pushtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	r := startPushReplica(t, map[string]string{"WEBHOOK_BACKOFF_BASE": "100ms", "WEBHOOK_BACKOFF_MAX": "300ms",
		"PUSH_VAPID_SUBJECT": "mailto:alerts@example.com", "PUSH_TTL": "1h"})
	const team = "team_push"
	mgr := r.token(t, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{team}})
	worker := r.token(t, auth.Claims{Subject: "walker", Role: auth.RoleWorker, Teams: []string{team}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The view reads the key, the browser subscribes with it.
	code, b := call(t, "GET", r.url+"/tracking/"+team+"/push/key", mgr, "", nil)
	var key struct{ PublicKey string }
	if code != http.StatusOK || json.Unmarshal(b, &key) != nil || len(key.PublicKey) != 87 {
		t.Fatalf("push key: %d %s", code, b)
	}
	sub, err := ps.Subscribe(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := subscribe(t, r, mgr, team, sub)

	code, b = call(t, "POST", r.url+"/tracking/"+team+"/geofences", mgr, "application/json",
		fmt.Appendf(nil, `{"name":"Depot","geometry":{"type":"Point","coordinates":[%v,%v],"radius":100}}`, pushFenceLon, pushFenceLat))
	if code != http.StatusCreated {
		t.Fatalf("create fence: %d %s", code, b)
	}
	testsupport.Eventually(t, 10*time.Second, "the fence in the replica's cache", func() bool {
		return r.count("tracking_geofences_cached", "") >= 1
	})

	// In: one enter, pushed.
	seq := 0
	t0 := time.Now().Add(-time.Minute)
	walk(t, r, worker, team, "walker", &seq, t0, -500, 0)
	msgs, err := ps.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("no push: %v (refused: %v)", err, ps.Refused())
	}
	page, err := r.al.Store.QueryEvents(ctx, alerting.EventQuery{Team: team, From: t0.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 10})
	if err != nil || len(page.Events) != 1 || page.Events[0].Kind != "enter" {
		t.Fatalf("events %+v, %v: want one enter", page.Events, err)
	}
	m := msgs[0]
	if string(m.Plaintext) != string(page.Events[0].JSON) {
		t.Fatalf("pushed %s\nwant the event's JSON %s", m.Plaintext, page.Events[0].JSON)
	}
	if m.Subscriber != sub.ID || m.Claims.Key != key.PublicKey || m.Claims.Sub != "mailto:alerts@example.com" ||
		m.Claims.Aud != ps.URL || m.TTL != 3600 || m.Urgency != "high" {
		t.Fatalf("push %+v", m)
	}

	// Another replica start on the same database would sign with the same
	// key: it is kept there.
	stored, err := r.al.Store.VAPIDKeys(ctx, alerting.VAPIDKeys{Public: "x", Private: "y"})
	if err != nil || stored.Public != key.PublicKey {
		t.Fatalf("stored keys %+v, %v: want the public key served", stored, err)
	}

	// The browser unsubscribed: the push service answers 410, and the
	// subscription is deleted.
	ps.Unsubscribe(sub)
	walk(t, r, worker, team, "walker", &seq, t0.Add(10*time.Second), 500)
	testsupport.Eventually(t, 10*time.Second, "the subscription deleted after the 410", func() bool {
		code, _ := call(t, "GET", r.url+"/tracking/"+team+"/push/subscriptions/"+id, mgr, "", nil)
		return code == http.StatusNotFound
	})
	if n := r.count("push_deliveries_total", "expired"); n != 1 {
		t.Fatalf("push_deliveries_total{result=expired} %v, want 1", n)
	}
	if code, b := call(t, "GET", r.url+"/tracking/"+team+"/push/subscriptions", mgr, "", nil); code != 200 || !strings.Contains(string(b), `"subscriptions":[]`) {
		t.Fatalf("list after the 410: %d %s", code, b)
	}

	// A new browser; the push service goes down, the worker walks in, the
	// push service comes back: the push arrives, after retries.
	sub2, err := ps.Subscribe(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, r, mgr, team, sub2)
	ps.Down()
	failed := r.count("push_deliveries_total", "failed")
	walk(t, r, worker, team, "walker", &seq, t0.Add(20*time.Second), 0)
	testsupport.Eventually(t, 10*time.Second, "failed attempts while the push service is down", func() bool {
		return r.count("push_deliveries_total", "failed") >= failed+2
	})
	if err := ps.Up(); err != nil {
		t.Fatal(err)
	}
	msgs, err = ps.WaitFor(ctx, func(m []pushtest.Message) bool { return len(m) == 2 })
	if err != nil {
		t.Fatalf("no push after the push service came back: %v (refused: %v)", err, ps.Refused())
	}
	page, err = r.al.Store.QueryEvents(ctx, alerting.EventQuery{Team: team, From: t0.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 10})
	if err != nil || len(page.Events) != 3 || page.Events[2].Kind != "enter" {
		t.Fatalf("events %+v, %v: want enter, exit, enter", page.Events, err)
	}
	if m := msgs[1]; m.Subscriber != sub2.ID || string(m.Plaintext) != string(page.Events[2].JSON) {
		t.Fatalf("push after the outage: %s to %s, want %s to %s", m.Plaintext, m.Subscriber, page.Events[2].JSON, sub2.ID)
	}
	if r := ps.Refused(); len(r) != 0 {
		t.Fatalf("the push service refused pushes as invalid: %v", r)
	}
}

func TestReadPush(t *testing.T) {
	k, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := webpush.GenerateKeys()
	for _, c := range []struct {
		name  string
		env   map[string]string
		names []string // in the error
	}{
		{"only the public key", map[string]string{"PUSH_VAPID_PUBLIC_KEY": k.Public}, []string{"PUSH_VAPID_PRIVATE_KEY"}},
		{"only the private key", map[string]string{"PUSH_VAPID_PRIVATE_KEY": k.Private}, []string{"PUSH_VAPID_PUBLIC_KEY"}},
		{"bad private key", map[string]string{"PUSH_VAPID_PUBLIC_KEY": k.Public, "PUSH_VAPID_PRIVATE_KEY": "not-a-key"}, []string{"PUSH_VAPID_PRIVATE_KEY"}},
		{"bad public key", map[string]string{"PUSH_VAPID_PUBLIC_KEY": "BAD", "PUSH_VAPID_PRIVATE_KEY": k.Private}, []string{"PUSH_VAPID_PUBLIC_KEY"}},
		{"keys of two pairs", map[string]string{"PUSH_VAPID_PUBLIC_KEY": other.Public, "PUSH_VAPID_PRIVATE_KEY": k.Private}, []string{"PUSH_VAPID_PUBLIC_KEY"}},
		{"subject and TTL", map[string]string{"PUSH_VAPID_SUBJECT": "ops@example.com", "PUSH_TTL": "0s"}, []string{"PUSH_VAPID_SUBJECT", "PUSH_TTL"}},
	} {
		e := config.Map(c.env)
		readPush(e)
		err := e.Err()
		for _, name := range c.names {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %v does not name %s", c.name, err, name)
			}
		}
		if err != nil && strings.Contains(err.Error(), k.Private) {
			t.Errorf("%s: the error shows the private key: %v", c.name, err)
		}
	}
	// Both set (padded base64 is taken): used, in base64url.
	e := config.Map(map[string]string{"PUSH_VAPID_PUBLIC_KEY": k.Public + "=", "PUSH_VAPID_PRIVATE_KEY": k.Private,
		"PUSH_VAPID_SUBJECT": "https://ops.example.com", "PUSH_TTL": "90s"})
	if s := readPush(e); e.Err() != nil || s.Keys != k || s.Subject != "https://ops.example.com" || s.TTL != 90*time.Second {
		t.Fatalf("%+v %v", s, e.Err())
	}
	// Neither: generated later, the defaults.
	e = config.Map(nil)
	if s := readPush(e); e.Err() != nil || !s.Keys.IsZero() || s.Subject != webpush.DefaultSubject || s.TTL != 24*time.Hour {
		t.Fatalf("defaults %+v %v", s, e.Err())
	}
}

// Keys set in the environment are the ones served and signed with.
func TestPushKeysFromEnv(t *testing.T) {
	noLeaks(t)
	k, _ := webpush.GenerateKeys()
	r := startPushReplica(t, map[string]string{"PUSH_VAPID_PUBLIC_KEY": k.Public, "PUSH_VAPID_PRIVATE_KEY": k.Private})
	mgr := r.token(t, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	code, b := call(t, "GET", r.url+"/tracking/team_one/push/key", mgr, "", nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"publicKey":"`+k.Public+`"`) {
		t.Fatalf("push key: %d %s, want %s", code, b, k.Public)
	}
}
