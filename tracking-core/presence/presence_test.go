package presence_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/presence"
	"github.com/teamtrack/tracking-core/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	idle    = 150 * time.Millisecond
	offline = 400 * time.Millisecond
)

func tracker(t *testing.T, team string) (*presence.Tracker, *broadcasttest.Collector) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	t.Cleanup(func() { _ = b.Close() })
	c, _ := broadcasttest.Subscribe(t, t.Context(), b, team)
	tr := presence.New(presence.Config{IdleAfter: idle, OfflineAfter: offline, Sweep: 10 * time.Millisecond, Publish: b.Publish})
	t.Cleanup(tr.Close)
	return tr, c
}

// statuses returns "status/reason" of each status message of worker.
func statuses(msgs []tracking.Message, worker string) []string {
	var out []string
	for _, m := range msgs {
		if m.Kind != tracking.KindStatus || m.Worker != worker {
			continue
		}
		var v struct{ Status, Reason string }
		_ = json.Unmarshal(m.JSON, &v)
		out = append(out, v.Status+"/"+v.Reason)
	}
	return out
}

func waitStatuses(t *testing.T, c *broadcasttest.Collector, worker string, want ...string) []tracking.Message {
	t.Helper()
	if !c.WaitFor(5*time.Second, func(m []tracking.Message) bool { return len(statuses(m, worker)) >= len(want) }) ||
		!slices.Equal(statuses(c.Messages(), worker), want) {
		t.Fatalf("statuses of %s: %v, want %v", worker, statuses(c.Messages(), worker), want)
	}
	return c.Messages()
}

// A WebSocket worker: online with its first record, idle then offline
// (silent) as it stays quiet, online again with a record, offline with the
// reason its connection ended — each change once, in order, in one session.
func TestWebSocketSession(t *testing.T) {
	tr, c := tracker(t, "team_p")
	conn := tr.WebSocket()
	conn.Seen("team_p", "w1", time.Now())
	conn.Seen("team_p", "w1", time.Now()) // no change
	waitStatuses(t, c, "w1", "online/", "idle/", "offline/silent")
	conn.Seen("team_p", "w1", time.Now())
	conn.End(wire.StatusReplaced)
	msgs := waitStatuses(t, c, "w1", "online/", "idle/", "offline/silent", "online/", "offline/replaced")
	var prev *tracking.Message
	for i := range msgs {
		m := &msgs[i]
		if prev != nil && (m.Time != prev.Time || !m.Supersedes(prev)) {
			t.Fatalf("status %d does not supersede the one before in one session: %+v after %+v", i, m, prev)
		}
		prev = m
	}
	time.Sleep(offline) // nothing more once ended
	if got := statuses(c.Messages(), "w1"); len(got) != 5 {
		t.Fatalf("statuses after the end: %v", got)
	}
}

// Workers that post are tracked by their records: POST bodies of one worker
// share a session, the end of a body ends nothing, silence does; a record
// after that starts a newer session.
func TestPostingSession(t *testing.T) {
	tr, c := tracker(t, "team_p")
	a, b := tr.Posting(), tr.Posting()
	a.Seen("team_p", "w1", time.Now())
	a.End(wire.StatusDisconnected)
	b.Seen("team_p", "w1", time.Now())
	msgs := waitStatuses(t, c, "w1", "online/", "idle/", "offline/silent")
	first := msgs[0].Time
	b.Seen("team_p", "w1", time.Now())
	msgs = waitStatuses(t, c, "w1", "online/", "idle/", "offline/silent", "online/", "idle/", "offline/silent")
	if msgs[3].Time <= first {
		t.Fatal("the record after the silence did not start a newer session")
	}
}
