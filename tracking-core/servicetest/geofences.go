package servicetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire"
)

// The fence of the scenario: a circle of 100 m with a dwell of 1 minute.
const (
	fenceLat, fenceLon = -23.55, -46.63
	fenceRadius        = 100.0
	webhookSecret      = "scenario-webhook-secret-0123456789"
)

// fenceFix is a record of worker dNorth metres north of the fence's centre.
func fenceFix(team, worker string, seq int, dNorth, accuracy float64, ts time.Time) []byte {
	p := tracking.Position{ID: fmt.Sprintf("%s.%d", worker, seq), WorkerID: worker, Team: team,
		Location:  tracking.Location{Latitude: fenceLat + dNorth/110_800, Longitude: fenceLon},
		TimeStamp: ts.UTC(), Accuracy: &accuracy}
	return wire.AppendPosition(nil, &p)
}

// alertOf is what the scenario checks of an alert record.
type alertOf struct {
	ID, Kind, WorkerID, FenceID string
}

func alertsOf(t *testing.T, recs [][]byte) []alertOf {
	t.Helper()
	out := make([]alertOf, 0, len(recs))
	for _, r := range recs {
		var a alertOf
		if err := json.Unmarshal(r, &a); err != nil {
			t.Fatalf("alert %s: %v", r, err)
		}
		out = append(out, a)
	}
	return out
}

func kindsOf(as []alertOf) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.WorkerID+":"+a.Kind)
	}
	return out
}

// receiver is a webhook endpoint that checks each delivery's signature.
type receiver struct {
	mu     sync.Mutex
	got    []alertOf
	errs   []string
	notify chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	if err := webhook.Verify(webhookSecret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		rc.errs = append(rc.errs, err.Error())
	} else {
		var a alertOf
		if err := json.Unmarshal(body, &a); err != nil {
			rc.errs = append(rc.errs, err.Error())
		} else if !slices.ContainsFunc(rc.got, func(g alertOf) bool { return g.ID == a.ID }) {
			rc.got = append(rc.got, a) // at least once: de-duplicated on id, as receivers do
		}
	}
	rc.mu.Unlock()
	poke(rc.notify)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() ([]alertOf, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got), slices.Clone(rc.errs)
}

// callJSON sends a request without a token (scenarios run AUTH_MODE=none).
func callJSON(t *testing.T, method, u, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// A fence created through B is evaluated on A within a second; a worker on
// A walks into it, stays past its dwell, moves to B mid-fence and walks
// out: exactly one enter, one dwell and one exit on a manager stream on B,
// in GET /events and, signed, at the team's webhook. A worker jittering
// ±15 m (accuracy 20 m) around the edge for a minute raises nothing.
func (s *scenarios) geofences(t *testing.T) {
	const team = "team_fences"
	ctx := context.Background()
	store, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	disp, err := webhook.New(webhook.Config{Store: store, Poll: 50 * time.Millisecond, BackoffBase: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = disp.Close() }) // after the replicas (cleanups run last first)
	rc := &receiver{notify: make(chan struct{}, 1)}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)

	newB := s.setup(t)
	ba, bb := newB(), newB()
	states, _ := bb.(tracking.StateStore)
	api := httpapi.Config{RecordsPerSecond: -1, Alerts: &httpapi.Alerts{Store: store, Notify: disp.Notify}}
	a, b := StartReplica(t, ba, api), StartReplica(t, bb, api)

	if code, body := callJSON(t, "POST", b.URL+"/tracking/"+team+"/webhooks",
		fmt.Sprintf(`{"url":%q,"secret":%q}`, hook.URL, webhookSecret)); code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	code, body := callJSON(t, "POST", b.URL+"/tracking/"+team+"/geofences",
		fmt.Sprintf(`{"name":"Depot","dwell":"1m","geometry":{"type":"Point","coordinates":[%v,%v],"radius":%v}}`, fenceLon, fenceLat, fenceRadius))
	if code != http.StatusCreated {
		t.Fatalf("create fence: %d %s", code, body)
	}
	var fence geofence.Fence
	if err := json.Unmarshal(body, &fence); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	for a.Counter(t, "tracking_geofences_cached") < 1 {
		if time.Since(created) > s.f.Timeout {
			t.Fatal("the fence created on B is not in A's cache")
		}
		time.Sleep(10 * time.Millisecond) // polling A's metric
	}
	t.Logf("the fence created on B was live on A after %s", time.Since(created).Round(time.Millisecond))

	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)
	defer mgr.Close()
	t0 := time.Now().Add(-10 * time.Minute) // fix times: in the past, sent quickly
	sent := map[string]int{}
	send := func(w *Worker, worker string, dNorth, acc float64, at time.Duration) {
		t.Helper()
		sent[worker]++
		must(t, w.Send(fenceFix(team, worker, sent[worker], dNorth, acc, t0.Add(at))))
	}
	arrived := func(worker string) {
		t.Helper()
		if !mgr.WaitFor(s.f.Timeout, func(r []Record) bool { return Latest(r)[worker] >= sent[worker] }) {
			t.Fatalf("%s's positions did not all reach the manager on B", worker)
		}
	}

	// The jitterer, on A, first: whatever it raised would come before the walker's alerts.
	wa := MustDialWorker(t, a.WS+"/tracking/ws")
	for i := range 120 { // a fix every 500 ms for a minute
		d := 15.0
		if i%2 == 1 {
			d = -15
		}
		send(wa, "jitter", fenceRadius+d, 20, time.Duration(i)*500*time.Millisecond)
	}
	arrived("jitter")

	// The walker, on A: outside, in for 90 s (dwell 1 m), then on B.
	send(wa, "walker", -500, 5, 0)
	for i := range 45 {
		send(wa, "walker", 0, 5, time.Duration(2+2*i)*time.Second)
	}
	arrived("walker")
	want := []string{"walker:enter", "walker:dwell"}
	if !mgr.WaitAlerts(s.f.Timeout, func(al [][]byte) bool { return len(al) >= 2 }) {
		t.Fatalf("alerts on B: %v, want %v", kindsOf(alertsOf(t, mgr.Alerts())), want)
	}
	if states != nil {
		// The state after the dwell is at the broker before the worker moves
		// (a real phone takes longer than this to reconnect).
		deadline := time.Now().Add(s.f.Timeout)
		for {
			var st geofence.WorkerState
			raw, err := states.LoadState(ctx, team, "walker")
			if err == nil && raw != nil && st.UnmarshalBinary(raw) == nil && len(st.Inside) == 1 && st.Inside[0].Dwelled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the walker's state did not reach the broker (%v)", err)
			}
			time.Sleep(10 * time.Millisecond) // polling the broker's store
		}
	} else {
		t.Log("the broadcaster keeps no worker states: the move to B is not checked")
	}
	wa.Close()

	next := b
	if states == nil {
		next = a
	}
	wb := MustDialWorker(t, next.WS+"/tracking/ws")
	defer wb.Close()
	for i := range 10 {
		send(wb, "walker", 10, 5, time.Duration(100+2*i)*time.Second)
	}
	send(wb, "walker", 500, 5, 130*time.Second)
	arrived("walker")
	want = append(want, "walker:exit")
	if !mgr.WaitAlerts(s.f.Timeout, func(al [][]byte) bool { return len(al) >= 3 }) {
		t.Fatalf("alerts on B: %v, want %v", kindsOf(alertsOf(t, mgr.Alerts())), want)
	}
	onStream := alertsOf(t, mgr.Alerts())
	if got := kindsOf(onStream); !slices.Equal(got, want) {
		t.Fatalf("alerts on B: %v, want %v", got, want)
	}
	for _, al := range onStream {
		if al.FenceID != fence.ID {
			t.Fatalf("alert %+v: fenceId, want %s", al, fence.ID)
		}
	}

	// In GET /events (on A, as it happens), the same three.
	deadline := time.Now().Add(s.f.Timeout)
	for {
		code, body := callJSON(t, "GET", a.URL+"/tracking/"+team+"/events?from="+url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)), "")
		var page struct{ Events []json.RawMessage }
		if code != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("GET events: %d %s", code, body)
		}
		recs := make([][]byte, len(page.Events))
		for i, e := range page.Events {
			recs[i] = e
		}
		got := alertsOf(t, recs)
		if slices.Equal(got, onStream) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events: %v, want %v", got, onStream)
		}
		time.Sleep(20 * time.Millisecond) // polling the store
	}

	// At the webhook, signed.
	if !waitNotified(s.f.Timeout, rc.notify, nil, func() bool { got, errs := rc.snapshot(); return len(got) >= 3 || len(errs) > 0 }) {
		got, _ := rc.snapshot()
		t.Fatalf("webhook got %v, want %v", kindsOf(got), want)
	}
	got, errs := rc.snapshot()
	if len(errs) > 0 {
		t.Fatalf("webhook deliveries: %v", errs)
	}
	slices.SortFunc(got, func(x, y alertOf) int { return strings.Compare(x.ID, y.ID) })
	sorted := slices.Clone(onStream)
	slices.SortFunc(sorted, func(x, y alertOf) int { return strings.Compare(x.ID, y.ID) })
	if !slices.Equal(got, sorted) {
		t.Fatalf("webhook got %v, want %v", got, sorted)
	}
}
