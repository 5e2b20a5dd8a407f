package hub_test

import (
	"fmt"
	"slices"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/memory"
)

// records returns the positions of out (not the stream marks) and the last
// offset out carries.
func records(out []tracking.Message) ([]tracking.Message, tracking.Offset) {
	var last tracking.Offset
	var recs []tracking.Message
	for _, m := range out {
		if !m.Offset.IsZero() {
			last = m.Offset
		}
		if m.JSON != nil {
			recs = append(recs, m)
		}
	}
	return recs, last
}

func publishSeqs(t *testing.T, b tracking.Broadcaster, team string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		broadcasttest.MustPublish(t, b, broadcasttest.Msg(team, fmt.Sprintf("w%d", i%3), i))
	}
}

func drain(q *hub.Queue) []tracking.Message {
	out, _, _ := q.Drain(nil)
	return out
}

func seqs(msgs []tracking.Message) []int { return broadcasttest.Seqs(msgs) }

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// A fresh watcher gets the snapshot then a mark with the stream's head; a
// watcher resuming after that mark, or after any position, gets exactly the
// positions after it; an id it cannot resume from resets to the snapshot.
func TestResume(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	defer b.Close()
	h := hub.New(b, hub.Config{ResumeLimit: 20})
	defer h.Close()
	const team = "team_r"
	publishSeqs(t, b, team, 1, 20)

	q := hub.NewQueue(1000, 1000)
	leave, started, err := h.Watch(t.Context(), team, q, hub.Start{})
	if err != nil || started.Reset {
		t.Fatalf("watch: %v %+v", err, started)
	}
	snap, head := records(drain(q))
	if len(snap) != 3 || head.IsZero() {
		t.Fatalf("snapshot of 3 workers: got %d positions, head %v", len(snap), head)
	}
	for _, m := range snap {
		if !m.Offset.IsZero() {
			t.Fatalf("a snapshot position carries an offset (%v): a client cut off in the snapshot would resume past the rest", m.Offset)
		}
	}
	publishSeqs(t, b, team, 21, 30)
	live, _ := records(drain(q))
	if got := seqs(live); !slices.Equal(got, span(21, 30)) {
		t.Fatalf("live after the snapshot = %v", got)
	}
	leave()

	cases := []struct {
		name  string
		after tracking.Offset
		want  []int
		reset bool
	}{
		{"after the snapshot's head", head, span(21, 30), false},
		{"after position 25", live[4].Offset, span(26, 30), false},
		{"after the last position", live[9].Offset, nil, false},
		{"another epoch", tracking.Offset{Epoch: head.Epoch + 1, Seq: 3}, nil, true},
		{"more than the limit", tracking.Offset{Epoch: head.Epoch, Seq: 1}, nil, true},
	}
	for _, c := range cases {
		q := hub.NewQueue(1000, 1000)
		leave, started, err := h.Watch(t.Context(), team, q, hub.Start{After: c.after})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _ := records(drain(q))
		if started.Reset != c.reset {
			t.Fatalf("%s: reset = %v, want %v", c.name, started.Reset, c.reset)
		}
		if c.reset {
			if len(got) != 3 {
				t.Fatalf("%s: reset to a snapshot of %d positions, want 3", c.name, len(got))
			}
		} else if s := seqs(got); !slices.Equal(s, c.want) || started.Missed != len(c.want) {
			t.Fatalf("%s: resumed with %v (missed %d), want %v", c.name, s, started.Missed, c.want)
		}
		leave()
	}
}

// Resuming while positions are being published misses none and repeats none.
func TestResumeUnderTraffic(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	defer b.Close()
	h := hub.New(b, hub.Config{})
	defer h.Close()
	const team = "team_traffic"
	publishSeqs(t, b, team, 1, 10)
	all, _, err := b.Since(t.Context(), team, tracking.Offset{Epoch: 0}, 0)
	if err != nil || len(all) != 0 {
		t.Fatalf("Since(zero) = %d positions, %v", len(all), err)
	}
	q0 := hub.NewQueue(1000, 1000)
	leave0, _, err := h.Watch(t.Context(), team, q0, hub.Start{}) // keeps the team subscribed
	if err != nil {
		t.Fatal(err)
	}
	defer leave0()
	_, mark := records(drain(q0))

	done := make(chan struct{})
	go func() {
		defer close(done)
		publishSeqs(t, b, team, 11, 2000)
	}()
	q := hub.NewQueue(100_000, 100_000)
	leave, started, err := h.Watch(t.Context(), team, q, hub.Start{After: mark})
	if err != nil || started.Reset {
		t.Fatalf("watch: %v %+v", err, started)
	}
	defer leave()
	<-done
	got, _ := records(drain(q))
	if s := seqs(got); !slices.Equal(s, span(11, 2000)) {
		t.Fatalf("resumed under traffic: %d positions, first %v, want 11..2000 once each", len(s), s[:min(len(s), 5)])
	}
}
