package kafkabroadcast_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
)

// wantLast fails unless Last(team) on b comes to hold want, worker -> seq.
func wantLast(t *testing.T, b tracking.Broadcaster, team string, want map[string]int) {
	t.Helper()
	if got := broadcasttest.WaitLast(t, b, team, 10*time.Second, want); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last(%s) = %v, want %v", team, got, want)
	}
}

// Last of a team watched on the replica: positions from before the watch come
// from LastTopic, later ones from the live records; stale ones are left out,
// watched or not.
func TestLastOfWatchedTeam(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 100 * time.Millisecond
	cfg.StaleAfter = time.Minute
	a := newReplica(t, cfg, nil)
	const team = "team_watched"
	stale := broadcasttest.Msg(team, "w_old", 1)
	stale.Received = time.Now().Add(-2 * time.Minute).UnixNano()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w2", 1), stale)

	b := newReplica(t, cfg, nil)
	wantLast(t, b, team, map[string]int{"w1": 1, "w2": 1}) // unwatched: read from LastTopic

	c := broadcasttest.NewCollector()
	sub, err := b.Subscribe(context.Background(), team, c.Handle)
	if err != nil {
		t.Fatal(err)
	}
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 2), broadcasttest.Msg(team, "w3", 1))
	if !c.WaitCount(10*time.Second, 2) {
		t.Fatalf("got %d of 2 live positions", len(c.Messages()))
	}
	// The live records are in the cache as soon as they are delivered.
	want := map[string]int{"w1": 2, "w2": 1, "w3": 1}
	if got := broadcasttest.LastSeqs(t, b, team); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last of the watched team = %v, want %v", got, want)
	}
	sub.Unsubscribe()
	wantLast(t, b, team, want) // unwatched again: from LastTopic
}

// A replica that starts after the positions were published serves the
// snapshot of a team with many workers; the time it takes is logged.
func TestLastOnNewReplica(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 100 * time.Millisecond
	a := newReplica(t, cfg, nil)
	const team, workers = "team_big", 500
	want := make(map[string]int, workers)
	for round := 1; round <= 3; round++ {
		msgs := make([]tracking.Message, 0, workers)
		for w := 0; w < workers; w++ {
			worker := fmt.Sprintf("w%03d", w)
			msgs = append(msgs, broadcasttest.Msg(team, worker, round))
			want[worker] = round
		}
		broadcasttest.MustPublish(t, a, msgs...)
		time.Sleep(150 * time.Millisecond) // let each round be its own throttled write
	}
	wantLast(t, a, team, want)

	start := time.Now()
	b := newReplica(t, cfg, nil)
	started := time.Since(start)
	got := broadcasttest.LastSeqs(t, b, team)
	t.Logf("new replica: New %v, first Last %v (%d workers)", started, time.Since(start)-started, len(got))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last on a new replica: %d workers, want %d", len(got), len(want))
	}
}

// A team becoming watched sees, in its first Last, a position published just
// before it, although the live reader started after that position and the
// throttled LastTopic write has not happened yet (the snapshot of a manager
// who connects right after a worker's position).
func TestLastOfNewlyWatchedTeamHasPositionsJustBefore(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = time.Hour // no LastTopic write during the test
	a, b, watcher := newReplica(t, cfg, nil), newReplica(t, cfg, nil), newReplica(t, cfg, nil)
	const team = "team_just_before"
	c := broadcasttest.NewCollector()
	sub, err := watcher.Subscribe(context.Background(), team, c.Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w2", 1))
	if !c.WaitCount(10*time.Second, 2) { // both are in the positions topic now
		t.Fatalf("got %d of 2 positions", len(c.Messages()))
	}
	sub2, err := b.Subscribe(context.Background(), team, func([]tracking.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Unsubscribe()
	want := map[string]int{"w1": 1, "w2": 1}
	if got := broadcasttest.LastSeqs(t, b, team); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first Last after watching = %v, want %v", got, want)
	}
}
