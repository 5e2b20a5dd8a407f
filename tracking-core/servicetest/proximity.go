package servicetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/httpapi"
)

// proxAlert is what the scenario checks of a proximity alert.
type proxAlert struct {
	ID, Kind, WorkerID, RuleID, PeerID string
}

// An apart rule between two workers connected to different replicas is
// evaluated by the one replica holding the team's claim: apart once, then
// together once, on a manager stream, in GET /events; after the holder
// shuts down the other replica takes the team over and reports the next
// episode, once.
func (s *scenarios) proximity(t *testing.T) {
	const team = "team_prox"
	ctx := context.Background()
	store, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	newB := s.setup(t)
	api := httpapi.Config{RecordsPerSecond: -1, Alerts: &httpapi.Alerts{Store: store}}
	reps := []*Replica{StartReplica(t, newB(), api), StartReplica(t, newB(), api)}

	code, body := callJSON(t, "POST", reps[1].URL+"/tracking/"+team+"/rules",
		`{"name":"Buddies","kind":"apart","workers":["w1","w2"],"distance":200,"for":"30s"}`)
	if code != http.StatusCreated {
		t.Fatalf("create rule: %d %s", code, body)
	}
	var rule struct{ ID string }
	if err := json.Unmarshal(body, &rule); err != nil || rule.ID == "" {
		t.Fatalf("rule %s: %v", body, err)
	}
	holder := func(among []*Replica) int {
		t.Helper()
		deadline := time.Now().Add(s.f.Timeout + 15*time.Second) // a round of claims is 5 s
		for {
			var held []int
			for i, r := range among {
				if r.Counter(t, "tracking_proximity_teams") == 1 {
					held = append(held, i)
				}
			}
			if len(held) == 1 {
				return held[0]
			}
			if len(held) > 1 {
				t.Fatalf("replicas %v all evaluate the team", held)
			}
			if time.Now().After(deadline) {
				t.Fatal("no replica took up the team's proximity rules")
			}
			time.Sleep(20 * time.Millisecond) // polling the replicas' metrics
		}
	}
	h := holder(reps)
	t.Logf("replica %d evaluates the team", h)

	t0 := time.Now().Add(-10 * time.Minute) // fix times: in the past, sent quickly
	seq := 0
	// episode walks w2 away from w1 (on replicas r1 and r2) and back,
	// starting at fix time start, and returns what the manager on mgr
	// received.
	episode := func(r1, r2, mgr *Replica, start time.Duration, wantAlerts int) []proxAlert {
		t.Helper()
		m := MustOpenSSE(t, mgr.URL+"/tracking/"+team)
		defer m.Close()
		w1 := MustDialWorker(t, r1.WS+"/tracking/ws")
		defer w1.Close()
		w2 := MustDialWorker(t, r2.WS+"/tracking/ws")
		defer w2.Close()
		// w2 north of w1: together, 1 km apart for 50 s (For is 30 s), together.
		for i, d := range []float64{0, 0, 1000, 1000, 1000, 1000, 1000, 1000, 0, 0} {
			at := t0.Add(start + time.Duration(i)*10*time.Second)
			seq++
			must(t, w1.Send(fenceFix(team, "w1", seq, 0, 5, at)))
			must(t, w2.Send(fenceFix(team, "w2", seq, d, 5, at.Add(time.Second))))
			n := seq
			// One step at a time, so that the stream holds them in this order.
			if !m.WaitFor(s.f.Timeout, func(r []Record) bool { l := Latest(r); return l["w1"] >= n && l["w2"] >= n }) {
				t.Fatalf("step %d did not reach the manager", i)
			}
		}
		if !m.WaitAlerts(s.f.Timeout, func(al [][]byte) bool { return len(al) >= wantAlerts }) {
			t.Fatalf("alerts: %d, want %d", len(m.Alerts()), wantAlerts)
		}
		var out []proxAlert
		for _, raw := range m.Alerts() {
			var a proxAlert
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatalf("alert %s: %v", raw, err)
			}
			out = append(out, a)
		}
		return out
	}
	kinds := func(as []proxAlert) []string {
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%s:%s:%s:%s", a.Kind, a.WorkerID, a.PeerID, a.RuleID))
		}
		return out
	}
	want := []string{"apart:w1:w2:" + rule.ID, "together:w1:w2:" + rule.ID}
	got := episode(reps[0], reps[1], reps[1], 0, 2)
	if !slices.Equal(kinds(got), want) {
		t.Fatalf("first episode: %v, want %v", kinds(got), want)
	}

	// The holder shuts down (releasing its claim); the other takes over.
	reps[h].Stop()
	other := reps[1-h]
	if holder([]*Replica{other}) != 0 {
		t.Fatal("unreachable")
	}
	got2 := episode(other, other, other, 5*time.Minute, 2)
	// The snapshot of the new manager carries no alerts: only the second
	// episode's.
	if !slices.Equal(kinds(got2), want) {
		t.Fatalf("second episode, on the replica that took over: %v, want %v", kinds(got2), want)
	}
	if got2[0].ID == got[0].ID {
		t.Fatal("two episodes with the same event id")
	}

	// Both episodes, once each, in GET /events.
	all := append(slices.Clone(got), got2...)
	deadline := time.Now().Add(s.f.Timeout)
	for {
		code, body := callJSON(t, "GET", other.URL+"/tracking/"+team+"/events?from="+url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)), "")
		var page struct{ Events []proxAlert }
		if code != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("GET events: %d %s", code, body)
		}
		// Presence alerts (the workers' connections ended) are not checked here.
		page.Events = slices.DeleteFunc(page.Events, func(a proxAlert) bool { return a.Kind != "apart" && a.Kind != "together" })
		if slices.Equal(page.Events, all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events: %v, want %v", kinds(page.Events), kinds(all))
		}
		time.Sleep(20 * time.Millisecond) // polling the store
	}
}
