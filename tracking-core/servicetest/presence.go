package servicetest

import (
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// Short presence thresholds for the scenario.
var presenceAPI = httpapi.Config{PresenceIdleAfter: 400 * time.Millisecond, PresenceOfflineAfter: 1200 * time.Millisecond,
	PresenceSweep: 20 * time.Millisecond}

// A worker on A, managers on B: its statuses reach B once per change (online,
// idle, offline as it falls silent; online again; offline with the reason
// its connection ended), and a manager who connects later gets the current
// status in the snapshot. When the worker moves to B while A still holds
// its old connection, A reporting the old connection's end changes nothing.
func (s *scenarios) presence(t *testing.T) {
	a, b := s.pair(t, presenceAPI)
	const team = "team_presence"
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
}
