package broadcasttest

import (
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

func (s *suite) lastKnown(t *testing.T) {
	newReplica := namespace(t, s.setup)
	a := newReplica()
	for i := 1; i <= 5; i++ {
		MustPublish(t, a, Msg("team_l", "w1", i), Msg("team_l", "w2", i))
	}
	MustPublish(t, a, Msg("team_l", "w3", 1), Msg("team_other", "w9", 1))
	// A replica that starts after the positions were published.
	b := newReplica()
	want := map[string]int{"w1": 5, "w2": 5, "w3": 1}
	if got := WaitLast(t, b, "team_l", s.f.Timeout, want); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last = %v, want %v", got, want)
	}
	if got := LastSeqs(t, b, "team_empty"); len(got) != 0 {
		t.Fatalf("Last of an unknown team = %v, want none", got)
	}
}

// Staleness is judged by the time of receipt, not by the worker's clock: a
// worker whose records carry a month-old timestamp is in the snapshot while
// it sends, and a position received longer ago than the window is not.
func (s *suite) lastStaleByReceipt(t *testing.T) {
	r := s.replicas(t, 2)
	now := time.Now()
	monthAgo := now.AddDate(0, -1, 0)
	MustPublish(t, r[0],
		MsgAt("team_stale", "w_skewed", 1, monthAgo, now),
		MsgAt("team_stale", "w_gone", 1, now, now.Add(-s.f.StaleAfter-time.Minute)),
		MsgAt("team_stale", "w_fresh", 1, now, now),
	)
	want := map[string]int{"w_skewed": 1, "w_fresh": 1}
	for i, b := range r {
		if got := WaitLast(t, b, "team_stale", s.f.Timeout, want); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("replica %d: Last = %v, want %v (a month-old fix received now is fresh; a fix received %s ago is stale)",
				i, got, want, s.f.StaleAfter+time.Minute)
		}
	}
}

// A late record with an older fix (a phone that was offline, uploading its
// buffer) never replaces a newer last position, whichever replica publishes
// it and whether or not the team is watched there.
func (s *suite) lastNewestFix(t *testing.T) {
	newReplica := namespace(t, s.setup)
	r := []tracking.Broadcaster{newReplica(), newReplica(), newReplica()}
	const team = "team_fix"
	live, _ := Subscribe(t, t.Context(), r[1], team)
	now := time.Now()
	newer := MsgAt(team, "w1", 2, now, now)
	older := MsgAt(team, "w1", 1, now.Add(-time.Minute), now.Add(time.Millisecond))

	MustPublish(t, r[0], newer)
	if !live.WaitCount(s.f.Timeout, 1) {
		t.Fatal("the newer position was not delivered")
	}
	want := map[string]int{"w1": 2}
	if got := WaitLast(t, r[2], team, s.f.Timeout, want); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last before the late record = %v, want %v", got, want)
	}
	// The late record, from another replica, then from the same one; a marker
	// after them on each replica shows they have been taken in.
	MustPublish(t, r[1], older, MsgAt(team, "m1", 1, now, now))
	MustPublish(t, r[0], older, MsgAt(team, "m0", 1, now, now))
	if !live.WaitCount(s.f.Timeout, 5) {
		t.Fatalf("got %d of 5 live positions: a late record is still delivered live", len(live.Messages()))
	}
	want = map[string]int{"w1": 2, "m0": 1, "m1": 1}
	for i, b := range r {
		if got := WaitLast(t, b, team, s.f.Timeout, want); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("replica %d: Last = %v, want %v: the late record with an older fix replaced the newer one", i, got, want)
		}
	}
	// And a replica that starts afterwards reads the same.
	if got := WaitLast(t, newReplica(), team, s.f.Timeout, want); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("new replica: Last = %v, want %v", got, want)
	}
}
