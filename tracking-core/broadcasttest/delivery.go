package broadcasttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

func (s *suite) sameReplica(t *testing.T) {
	a := s.replicas(t, 1)[0]
	c, _ := Subscribe(t, context.Background(), a, "team_a")
	want := Msg("team_a", "w1", 1)
	MustPublish(t, a, want)
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery on the publishing replica")
	}
	checkSame(t, c.Messages()[0], want)
}

// checkSame fails unless got is want as published: keys, times and bytes.
func checkSame(t *testing.T, got, want tracking.Message) {
	t.Helper()
	if got.Kind != want.Kind || got.Team != want.Team || got.Worker != want.Worker || got.Time != want.Time ||
		got.Received != want.Received || !bytes.Equal(got.JSON, want.JSON) {
		t.Fatalf("delivered %s %s/%s time %d received %d %s\nwant      %s %s/%s time %d received %d %s",
			got.Kind, got.Team, got.Worker, got.Time, got.Received, got.JSON,
			want.Kind, want.Team, want.Worker, want.Time, want.Received, want.JSON)
	}
}

func (s *suite) betweenReplicas(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := Subscribe(t, context.Background(), r[1], "team_b")
	var sent []tracking.Message
	for i := 1; i <= 10; i++ {
		m := Msg("team_b", "w1", i)
		sent = append(sent, m)
		MustPublish(t, r[0], m)
	}
	if !c.WaitCount(s.f.Timeout, 10) {
		t.Fatalf("replica B got %d of 10 positions published on A", len(c.Messages()))
	}
	for i, m := range c.Messages()[:10] {
		checkSame(t, m, sent[i])
	}
}

func (s *suite) teamIsolation(t *testing.T) {
	r := s.replicas(t, 2)
	cx, _ := Subscribe(t, context.Background(), r[1], "team_x")
	cy, _ := Subscribe(t, context.Background(), r[1], "team_y")
	for i := 1; i <= 20; i++ {
		MustPublish(t, r[0], Msg("team_y", "wy", i))
	}
	MustPublish(t, r[0], Msg("team_x", "wx", 1))
	if !cy.WaitCount(s.f.Timeout, 20) || !cx.WaitCount(s.f.Timeout, 1) {
		t.Fatalf("deliveries missing: team_x %d/1, team_y %d/20", len(cx.Messages()), len(cy.Messages()))
	}
	if err := CheckComplete(cx.Messages(), []string{"wx"}, 1); err != nil {
		t.Fatalf("team_x: %v", err)
	}
	if err := CheckComplete(cy.Messages(), []string{"wy"}, 20); err != nil {
		t.Fatalf("team_y: %v", err)
	}
	for _, m := range append(cx.Messages(), cy.Messages()...) {
		if w, _ := Seq(m); m.Team != "team_"+w[1:] {
			t.Fatalf("position of %s delivered as team %s", w, m.Team)
		}
	}
}

// publishSeqs has each worker publish 1..n, each to every team in turn, on
// its own goroutine (to replicas[i%len]) and returns the first error.
func publishSeqs(replicas []tracking.Broadcaster, teams, workers []string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 1; seq <= n; seq++ {
				for _, team := range teams {
					if err := Publish(replicas[i%len(replicas)], Msg(team, w, seq)); err != nil {
						errs <- fmt.Errorf("worker %s seq %d of %s: %w", w, seq, team, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (s *suite) perWorkerOrder(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := Subscribe(t, context.Background(), r[1], "team_o")
	workers := []string{"w1", "w2", "w3", "w4", "w5"}
	const n = 200
	if err := publishSeqs(r[:1], []string{"team_o"}, workers, n); err != nil {
		t.Fatal(err)
	}
	if !c.WaitCount(s.f.Timeout, n*len(workers)) {
		t.Fatalf("got %d of %d positions", len(c.Messages()), n*len(workers))
	}
	if err := CheckComplete(c.Messages(), workers, n); err != nil {
		t.Fatal(err)
	}
}

// Concurrent publishers, on the subscribing replica and on another: every
// position arrives, in order per worker, and the handler is never called
// while a call of it is still running (tracking.Handler: one delivery
// goroutine; the hub keeps a team's state without a lock).
func (s *suite) concurrentPublishers(t *testing.T) {
	r := s.replicas(t, 3)
	c := NewCollector()
	var inside, overlaps atomic.Int32
	sub, err := r[2].Subscribe(context.Background(), "team_c", func(msgs []tracking.Message) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(100 * time.Microsecond) // a window for an overlapping call to be seen in
		c.Handle(msgs)
		inside.Add(-1)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Unsubscribe)
	r = []tracking.Broadcaster{r[0], r[2]} // publishers: another replica and the subscriber's
	var workers []string
	for p := 0; p < 8; p++ {
		workers = append(workers, fmt.Sprintf("w%d", p))
	}
	const n = 50
	if err := publishSeqs(r, []string{"team_c"}, workers, n); err != nil {
		t.Fatal(err)
	}
	if !c.WaitCount(s.f.Timeout, 8*n) {
		t.Fatalf("got %d of %d positions from 8 concurrent publishers", len(c.Messages()), 8*n)
	}
	if err := CheckComplete(c.Messages(), workers, n); err != nil {
		t.Fatal(err)
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("the handler was called %d times while a call of it was running: a Handler is called by one delivery goroutine at a time", n)
	}
}

// The hub subscribes a team once: a second Subscribe of a subscribed team is
// refused, and once the first ends the team can be subscribed again.
func (s *suite) oneSubscriptionPerTeam(t *testing.T) {
	r := s.replicas(t, 2)
	c1, sub1 := Subscribe(t, context.Background(), r[1], "team_2")
	if sub, err := r[1].Subscribe(context.Background(), "team_2", func([]tracking.Message) {}); !errors.Is(err, tracking.ErrSubscribed) {
		if sub != nil {
			sub.Unsubscribe()
		}
		t.Fatalf("second Subscribe of a team: %v, want ErrSubscribed", err)
	}
	MustPublish(t, r[0], Msg("team_2", "w1", 1))
	if !c1.WaitCount(s.f.Timeout, 1) {
		t.Fatal("the subscription stopped receiving after a refused second Subscribe")
	}
	sub1.Unsubscribe()
	c2, _ := Subscribe(t, context.Background(), r[1], "team_2")
	MustPublish(t, r[0], Msg("team_2", "w1", 2))
	if !c2.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery to a new subscription after the first ended")
	}
	if got := Seqs(c2.Messages()); fmt.Sprint(got) != "[2]" {
		t.Fatalf("new subscription got %v, want [2]", got)
	}
	if n := len(c1.Messages()); n != 1 {
		t.Fatalf("ended subscription got %d positions, want 1", n)
	}
}

// Seqs returns the sequence numbers of msgs, in order.
func Seqs(msgs []tracking.Message) []int {
	out := make([]int, len(msgs))
	for i, m := range msgs {
		_, out[i] = Seq(m)
	}
	return out
}

func (s *suite) ctxCancel(t *testing.T) {
	r := s.replicas(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	c, sub := Subscribe(t, ctx, r[1], "team_cc")
	barrier, _ := Subscribe(t, context.Background(), r[0], "team_cc")
	MustPublish(t, r[0], Msg("team_cc", "w1", 1))
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery before cancel")
	}
	cancel()
	select {
	case <-sub.Done():
	case <-time.After(s.f.Timeout):
		t.Fatal("Done not closed after the context was cancelled")
	}
	MustPublish(t, r[0], Msg("team_cc", "w1", 2))
	if !barrier.WaitCount(s.f.Timeout, 2) {
		t.Fatal("the other replica's subscription did not get the second position")
	}
	if n := len(c.Messages()); n != 1 {
		t.Fatalf("cancelled subscription got %d positions, want 1", n)
	}
}

func (s *suite) unsubscribeTwice(t *testing.T) {
	r := s.replicas(t, 1)
	_, sub := Subscribe(t, context.Background(), r[0], "team_u")
	sub.Unsubscribe()
	sub.Unsubscribe()
	select {
	case <-sub.Done():
	default:
		t.Fatal("Done open after Unsubscribe returned")
	}
}

func (s *suite) closeTwice(t *testing.T) {
	r := s.replicas(t, 1)
	_, sub := Subscribe(t, context.Background(), r[0], "team_close")
	if err := r[0].Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := r[0].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-sub.Done():
	case <-time.After(s.f.Timeout):
		t.Fatal("subscription not ended by Close")
	}
	if err := r[0].Publish(context.Background(), Msg("team_close", "w", 1)); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := r[0].Subscribe(context.Background(), "team_close", func([]tracking.Message) {}); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
}

// The ownership rule of tracking.Message: the publisher reuses its slice
// after Publish returns, a handler keeps Messages (not slices), and what it
// kept stays as published however many deliveries follow.
func (s *suite) sliceReuse(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := Subscribe(t, context.Background(), r[1], "team_reuse")
	const batches, size = 20, 10
	var sent []tracking.Message
	buf := make([]tracking.Message, size)
	for b := 0; b < batches; b++ {
		for i := range buf {
			buf[i] = Msg("team_reuse", fmt.Sprintf("w%d", i), b+1)
			sent = append(sent, buf[i])
		}
		MustPublish(t, r[0], buf...)
		for i := range buf { // the caller's slice is its own again
			buf[i] = tracking.Message{Team: "team_reuse", Worker: "garbage", JSON: []byte(`{"id":"garbage.0"}`)}
		}
	}
	if !c.WaitCount(s.f.Timeout, len(sent)) {
		t.Fatalf("got %d of %d positions", len(c.Messages()), len(sent))
	}
	byID := make(map[string]tracking.Message, len(sent))
	for _, m := range sent {
		w, seq := Seq(m)
		byID[fmt.Sprint(w, seq)] = m
	}
	for _, m := range c.Messages() {
		w, seq := Seq(m)
		want, ok := byID[fmt.Sprint(w, seq)]
		if !ok {
			t.Fatalf("delivered a position never published: %s", m.JSON)
		}
		checkSame(t, m, want)
	}
}
