package broadcasttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// A full send queue answers ErrOverloaded, all or none: a rejected call sends
// nothing, an accepted one is delivered whole and in order.
func (s *suite) overloaded(t *testing.T) {
	if s.f.Overload == nil {
		t.Skip("this backend publishes synchronously and is never overloaded")
	}
	r := Replicas(t, s.f.Overload, 2)
	const team = "team_over"
	c, _ := Subscribe(t, context.Background(), r[1], team)

	// A batch larger than the queue can never fit.
	big := make([]tracking.Message, s.f.QueueSize+1)
	for i := range big {
		big[i] = Msg(team, "w_big", i+1)
	}
	if err := r[0].Publish(context.Background(), big...); !errors.Is(err, tracking.ErrOverloaded) {
		t.Fatalf("Publish of %d positions into a queue of %d: %v, want ErrOverloaded", len(big), s.f.QueueSize, err)
	}

	// Publishers faster than the broker, without retrying.
	workers, n := 4, 500
	if testing.Short() {
		n = 100
	}
	accepted := make([][]int, workers)
	var overloads, other sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 1; seq <= n; seq++ {
				err := r[0].Publish(context.Background(), Msg(team, fmt.Sprintf("w%d", w), seq), Msg(team, fmt.Sprintf("w%d", w), seq+n))
				switch {
				case err == nil:
					accepted[w] = append(accepted[w], seq, seq+n)
				case errors.Is(err, tracking.ErrOverloaded):
					overloads.Store(fmt.Sprint(w, seq), true)
				default:
					other.Store(fmt.Sprint(w, seq), err)
				}
			}
		}()
	}
	wg.Wait()
	other.Range(func(k, v any) bool {
		t.Errorf("publish %v: %v, want nil or ErrOverloaded", k, v)
		return true
	})
	// A last position per worker, retried until accepted, marks the end.
	for w := range workers {
		if err := Publish(r[0], Msg(team, fmt.Sprintf("w%d", w), 3*n)); err != nil {
			t.Fatal(err)
		}
		accepted[w] = append(accepted[w], 3*n)
	}
	done := func(msgs []tracking.Message) bool {
		ends := 0
		for _, m := range msgs {
			if _, seq := Seq(m); seq == 3*n {
				ends++
			}
		}
		return ends == workers
	}
	if !c.WaitFor(s.f.Timeout, done) {
		t.Fatalf("the last position of every worker did not arrive (%d deliveries)", len(c.Messages()))
	}
	got := make(map[string][]int)
	for _, m := range c.Messages() {
		w, seq := Seq(m)
		got[w] = append(got[w], seq)
	}
	if seqs := got["w_big"]; len(seqs) > 0 {
		t.Fatalf("%d positions of the refused batch were delivered", len(seqs))
	}
	for w := range workers {
		name := fmt.Sprintf("w%d", w)
		if fmt.Sprint(got[name]) != fmt.Sprint(accepted[w]) {
			t.Fatalf("worker %s: delivered %d positions, accepted %d (delivered %v)", name, len(got[name]), len(accepted[w]), got[name])
		}
	}
	count := 0
	overloads.Range(func(any, any) bool { count++; return true })
	t.Logf("queue of %d: %d of %d calls answered ErrOverloaded", s.f.QueueSize, count, workers*n)
}

// Many teams, many publishers on two replicas, every team watched on a
// third: every position arrives once, in order per worker, in its own team.
func (s *suite) stress(t *testing.T) {
	teams, publishers, n := 40, 8, 25
	if testing.Short() {
		teams, publishers, n = 8, 4, 10
	}
	r := s.replicas(t, 3)
	collectors := make([]*Collector, teams)
	names := make([]string, teams)
	for i := range teams {
		names[i] = fmt.Sprintf("team_s%02d", i)
		collectors[i], _ = Subscribe(t, context.Background(), r[2], names[i])
	}
	workers := make([]string, publishers)
	for p := range publishers {
		workers[p] = fmt.Sprintf("w%d", p)
	}
	if err := publishSeqs(r[:2], names, workers, n); err != nil {
		t.Fatal(err)
	}
	for i, c := range collectors {
		if !c.WaitCount(s.f.Timeout, publishers*n) {
			t.Fatalf("%s: got %d of %d positions", names[i], len(c.Messages()), publishers*n)
		}
		for _, m := range c.Messages() {
			if m.Team != names[i] {
				t.Fatalf("%s got a position of %s", names[i], m.Team)
			}
		}
		if err := CheckComplete(c.Messages(), workers, n); err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
}

func (s *suite) restart(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := Subscribe(t, context.Background(), r[1], "team_r")
	MustPublish(t, r[0], Msg("team_r", "w1", 1))
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery before the restart")
	}
	mail, to := mailBeforeRestart(t, r[1])
	s.f.RestartBroker(t)
	// Keep publishing until one arrives: positions sent while the replicas
	// reconnect may be lost, but the stream must resume by itself.
	deadline := time.Now().Add(60 * time.Second)
	for seq := 2; ; seq++ {
		_ = r[0].Publish(context.Background(), Msg("team_r", "w1", seq))
		if c.WaitFor(200*time.Millisecond, func(m []tracking.Message) bool { return len(m) >= 2 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery within 60s after the broker restarted")
		}
	}
	if err := r[1].Ready(context.Background()); err != nil {
		t.Fatalf("replica not ready after the stream resumed: %v", err)
	}
	if mail != nil {
		mailRestart(t, r[0].(tracking.Mailbox), to, mail)
	}
}
