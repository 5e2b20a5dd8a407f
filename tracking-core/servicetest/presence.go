package servicetest

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/httpapi"
)

// Short presence thresholds for the scenario.
var presenceAPI = httpapi.Config{PresenceIdleAfter: 400 * time.Millisecond, PresenceOfflineAfter: 2400 * time.Millisecond,
	PresenceSweep: 20 * time.Millisecond, PresenceAlertSettle: time.Second, GeofenceSweep: 20 * time.Millisecond}

// A worker on A, managers on B: its statuses reach B once per change (online,
// idle, offline as it falls silent; online again; offline with the reason
// its connection ended), and a manager who connects later gets the current
// status in the snapshot. When the worker moves to B while A still holds
// its old connection, A reporting the old connection's end changes nothing.
func (s *scenarios) presence(t *testing.T) {
	store, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	api := presenceAPI
	api.Alerts = &httpapi.Alerts{Store: store}
	a, b := s.pair(t, api)
	const team = "team_presence"
	// The statuses stored as alert events (settled: PresenceAlertSettle).
	events := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(s.f.Timeout)
		for {
			code, body := callJSON(t, "GET", a.URL+"/tracking/"+team+"/events?from="+
				url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), "")
			var page struct {
				Events []struct{ Kind, WorkerID, Status, Reason string }
			}
			if code != 200 || json.Unmarshal(body, &page) != nil {
				t.Fatalf("GET events: %d %s", code, body)
			}
			var got []string
			for _, e := range page.Events {
				if e.Kind != e.Status {
					t.Fatalf("event %+v: kind is not the status", e)
				}
				got = append(got, e.WorkerID+":"+e.Status+"/"+e.Reason)
			}
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("presence alerts in /events: %v, want %v", got, want)
			}
			time.Sleep(20 * time.Millisecond) // polling the store
		}
	}
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)
	defer mgr.Close()
	wait := func(want ...string) {
		t.Helper()
		if !mgr.WaitEvents(s.f.Timeout, func(got []string) bool { return len(got) >= len(want) }) ||
			!slices.Equal(mgr.Statuses(), want) {
			t.Fatalf("statuses on B: %v, want %v", mgr.Statuses(), want)
		}
	}

	w := MustDialWorker(t, a.WS+"/tracking/ws")
	must(t, w.Send(Rec(team, "w1", 1)))
	wait("w1:online/", "w1:idle/", "w1:offline/silent")
	// The idle lasted past the settling time: stored too.
	events("w1:idle/", "w1:offline/silent")
	must(t, w.Send(Rec(team, "w1", 2)))
	wait("w1:online/", "w1:idle/", "w1:offline/silent", "w1:online/")

	late := MustOpenSSE(t, b.URL+"/tracking/"+team)
	if !late.WaitEvents(s.f.Timeout, func(got []string) bool { return len(got) >= 1 }) || late.Statuses()[0] != "w1:online/" {
		t.Fatalf("a late manager's snapshot statuses: %v, want w1 online", late.Statuses())
	}
	late.Close()

	// The worker moves to B; A's connection lingers and then ends.
	w2 := MustDialWorker(t, b.WS+"/tracking/ws")
	must(t, w2.Send(Rec(team, "w1", 3)))
	if !mgr.WaitFor(s.f.Timeout, func(r []Record) bool { return Latest(r)["w1"] == 3 }) {
		t.Fatal("the position sent through B did not arrive")
	}
	w.Close()
	must(t, w2.Send(Rec(team, "w1", 4)))
	if !mgr.WaitFor(s.f.Timeout, func(r []Record) bool { return Latest(r)["w1"] == 4 }) {
		t.Fatal("the position sent through B did not arrive")
	}
	w2.Close()
	wait("w1:online/", "w1:idle/", "w1:offline/silent", "w1:online/", "w1:offline/disconnected")
	// A's report of the old connection's end is not an alert either: only
	// the end of the connection to B.
	events("w1:idle/", "w1:offline/silent", "w1:offline/disconnected")
	time.Sleep(4 * presenceAPI.PresenceAlertSettle) // nothing more settles: waiting out the settling time
	events("w1:idle/", "w1:offline/silent", "w1:offline/disconnected")
}
