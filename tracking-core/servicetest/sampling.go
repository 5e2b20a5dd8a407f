package servicetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/sampling"
	"github.com/teamtrack/tracking-core/service"
)

// Short advice settings for the scenario: the defaults' intervals, a grace
// of 1.5 s instead of 30 s.
var samplingConfig = sampling.Config{Watched: time.Second, Unwatched: 30 * time.Second,
	Grace: 1500 * time.Millisecond, Heartbeat: 500 * time.Millisecond}

// lastAdvice is the interval of the last advice w got ("" before any).
func lastAdvice(w *Worker) string {
	if a := w.Advice(); len(a) > 0 {
		return a[len(a)-1]
	}
	return ""
}

// Workers on A, managers on B: a worker gets the unwatched advice when
// nobody watches; the watched one when a manager opens the team's stream
// on B (the time it took is logged: the README's figure); one that
// connects meanwhile gets the watched advice first; a POST's summary
// says the advice; when the last manager leaves, the unwatched advice
// comes no sooner than the grace; a manager back within the grace changes
// nothing.
func (s *scenarios) sampling(t *testing.T) {
	newB := s.setup(t)
	cfg := service.Config{API: httpapi.Config{RecordsPerSecond: -1}, Sampling: &samplingConfig}
	a, b := StartReplicaConfig(t, newB(), cfg), StartReplicaConfig(t, newB(), cfg)
	const team = "team_sampling"
	w1 := dialAs(t, a, team, "w1", 1)
	if !w1.Wait(s.f.Timeout, func() bool { return lastAdvice(w1) == "30s" }) {
		t.Fatalf("advice %v with nobody watching, want 30s", w1.Advice())
	}

	opened := time.Now()
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)
	if !w1.Wait(s.f.Timeout, func() bool { return lastAdvice(w1) == "1s" }) {
		t.Fatalf("advice %v once a manager watches on B, want 1s", w1.Advice())
	}
	t.Logf("watched advice reached a worker on the other replica %s after the manager's stream was opened",
		time.Since(opened).Round(time.Millisecond))

	w2 := dialAs(t, a, team, "w2", 1)
	if !w2.Wait(s.f.Timeout, func() bool { return len(w2.Advice()) > 0 }) || w2.Advice()[0] != "1s" {
		t.Fatalf("a worker connecting while the team is watched got %v first, want 1s", w2.Advice())
	}
	sum, err := Post(a.URL+"/tracking", bytes.NewReader(Rec(team, "w3", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Config == nil || sum.Config.Interval != "1s" {
		t.Fatalf("POST summary %+v: want the 1s advice", sum)
	}

	// Back within the grace: no change.
	mgr.Close()
	mgr = MustOpenManagerWS(t, b.WS+"/tracking/"+team+"/ws")
	time.Sleep(samplingConfig.Grace + 500*time.Millisecond) // long enough for a wrong 30s to show
	if got := w1.Advice(); !slices.Equal(got, []string{"30s", "1s"}) {
		t.Fatalf("advice %v after a manager came back within the grace, want no change", got)
	}

	left := time.Now()
	mgr.Close()
	if !w1.Wait(s.f.Timeout, func() bool { return lastAdvice(w1) == "30s" }) {
		t.Fatalf("advice %v after the last manager left, want 30s", w1.Advice())
	}
	if waited := time.Since(left); waited < samplingConfig.Grace {
		t.Fatalf("the unwatched advice came %s after the last manager left, before the grace of %s", waited, samplingConfig.Grace)
	}
	if !w2.Wait(s.f.Timeout, func() bool { return lastAdvice(w2) == "30s" }) {
		t.Fatalf("w2's advice %v, want 30s too", w2.Advice())
	}
}
