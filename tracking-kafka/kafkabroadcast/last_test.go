package kafkabroadcast_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
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

// A team becoming watched sees, in its first Last, a position (and a status)
// published just before it, although the live reader started after it and
// the throttled LastTopic write has not happened yet (the snapshot of a
// manager who connects right after a worker's position).
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
	base := time.Now()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w2", 1),
		broadcasttest.StatusMsg(team, "w1", base, 0, time.Millisecond, "online"),
		broadcasttest.AlertMsg(team, "w1", "depot", base))
	if !c.WaitCount(10*time.Second, 4) { // all are in the positions topic now
		t.Fatalf("got %d of 4 messages", len(c.Messages()))
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
	if got := statuses(t, b, team); fmt.Sprint(got) != fmt.Sprint(map[string]string{"w1": "online"}) {
		t.Fatalf("statuses in the first Last after watching = %v, want w1 online", got)
	}
}

// Statuses in the cache of a watched team: the live records' statuses fold
// like the ones read from LastTopic (a newer session wins over a later change
// of an older one), alerts are not kept, and a status never stands in for a
// position.
func TestLastStatusesOfWatchedTeam(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 100 * time.Millisecond
	a, b := newReplica(t, cfg, nil), newReplica(t, cfg, nil)
	const team = "team_watched_status"
	base := time.Now()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1),
		broadcasttest.StatusMsg(team, "w1", base, 0, time.Millisecond, "online"))
	wantStatuses(t, b, team, map[string]string{"w1": "online"}) // unwatched: read from LastTopic

	c := broadcasttest.NewCollector()
	sub, err := b.Subscribe(context.Background(), team, c.Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	broadcasttest.MustPublish(t, a, broadcasttest.StatusMsg(team, "w1", base, time.Second, time.Second, "online-2"),
		broadcasttest.StatusMsg(team, "w1", base, 0, 2*time.Second, "offline-replaced"),
		broadcasttest.AlertMsg(team, "w1", "depot", base),
		broadcasttest.StatusMsg(team, "w2", base, 0, time.Millisecond, "online"))
	if !c.WaitCount(10*time.Second, 4) {
		t.Fatalf("got %d of 4 live messages", len(c.Messages()))
	}
	want := map[string]string{"w1": "online-2", "w2": "online"}
	// The live records are in the cache as soon as they are delivered.
	if got := statuses(t, b, team); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses in Last of the watched team = %v, want %v", got, want)
	}
	if got := broadcasttest.LastSeqs(t, b, team); fmt.Sprint(got) != fmt.Sprint(map[string]int{"w1": 1}) {
		t.Fatalf("positions in Last of the watched team = %v, want w1's only", got)
	}
	sub.Unsubscribe()
	wantStatuses(t, b, team, want) // unwatched again: from LastTopic
}

// Compaction keeps the record of a key written last, whichever replica wrote
// it. The replica a worker left writes the late end of the worker's old
// session after the replica it joined wrote the new session's status; what
// compaction would leave (the last record of each key) must still give the
// new session's. Alerts are never written.
func TestLastStatusesSurviveCompaction(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 50 * time.Millisecond
	a, b := newReplica(t, cfg, nil), newReplica(t, cfg, nil)
	const team = "team_compaction"
	base := time.Now()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1),
		broadcasttest.StatusMsg(team, "w1", base, 0, time.Millisecond, "online"),
		broadcasttest.AlertMsg(team, "w1", "depot", base))
	waitLastRecord(t, a, team, `"online"`)
	broadcasttest.MustPublish(t, b, broadcasttest.StatusMsg(team, "w1", base, time.Second, time.Second, "online-2"))
	waitLastRecord(t, a, team, `"online-2"`)
	broadcasttest.MustPublish(t, a, broadcasttest.StatusMsg(team, "w1", base, 0, 2*time.Second, "offline-replaced"))
	waitLastRecord(t, a, team, `"offline-replaced"`)

	keys, values, err := a.LastRecords(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	compacted := make(map[string]string)
	for i, k := range keys {
		compacted[k] = values[i]
	}
	var status *tracking.Message
	positions := 0
	for k, v := range compacted {
		msgs, err := wire.DecodeFrame(nil, team, []byte(v))
		if err != nil || len(msgs) != 1 {
			t.Fatalf("record %s: %d messages, %v", k, len(msgs), err)
		}
		switch m := msgs[0]; m.Kind {
		case tracking.KindAlert:
			t.Fatalf("record %s is an alert", k)
		case tracking.KindPosition:
			if k != team+"/w1" {
				t.Fatalf("position keyed %s, want %s/w1", k, team)
			}
			positions++
		case tracking.KindStatus:
			if status == nil || m.Supersedes(status) {
				status = &m
			}
		}
	}
	if status == nil {
		t.Fatalf("after compaction: no status (records %q)", keys)
	}
	if positions != 1 || !strings.Contains(string(status.JSON), `"online-2"`) {
		t.Fatalf("after compaction: %d positions, status %s; want 1 and online-2 (records %q)", positions, status.JSON, keys)
	}
	wantStatuses(t, newReplica(t, cfg, nil), team, map[string]string{"w1": "online-2"})
}

// waitLastRecord waits until a record of b's LastTopic holds text.
func waitLastRecord(t *testing.T, b *kafkabroadcast.Broadcaster, team, text string) {
	t.Helper()
	testsupport.Eventually(t, 10*time.Second, "a LastTopic record holding "+text, func() bool {
		_, values, err := b.LastRecords(context.Background(), team)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if strings.Contains(v, text) {
				return true
			}
		}
		return false
	})
}

// statuses returns worker -> status name of the statuses in Last(team).
func statuses(t *testing.T, b tracking.Broadcaster, team string) map[string]string {
	t.Helper()
	got := make(map[string]string)
	for w, j := range broadcasttest.LastStatuses(t, b, team) {
		var s struct{ Status string }
		if err := json.Unmarshal([]byte(j), &s); err != nil {
			t.Fatalf("status of %s: %v", w, err)
		}
		got[w] = s.Status
	}
	return got
}

// wantStatuses fails unless the statuses in Last(team) on b come to be want,
// worker -> status name.
func wantStatuses(t *testing.T, b tracking.Broadcaster, team string, want map[string]string) {
	t.Helper()
	var got map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got = statuses(t, b, team); fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling until the throttled write lands
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses in Last(%s) = %v, want %v", team, got, want)
	}
}
