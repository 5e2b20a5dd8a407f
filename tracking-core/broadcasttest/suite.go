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

// Setup returns a constructor of replicas sharing one fresh backend namespace.
// Replicas it makes are closed by the suite.
type Setup func(t *testing.T) func() tracking.Broadcaster

// Features says what the backend under test can do and how to drive it.
type Features struct {
	// RestartBroker stops the broker and starts it again on the same address.
	// Nil skips the restart test.
	RestartBroker func(t *testing.T)
	// Timeout bounds every wait for a delivery. Default 10s.
	Timeout time.Duration
}

// Run runs every conformance test against the backend.
func Run(t *testing.T, f Features, setup Setup) {
	if f.Timeout <= 0 {
		f.Timeout = 10 * time.Second
	}
	s := &suite{f: f, setup: setup}
	t.Run("SameReplicaDelivery", s.sameReplica)
	t.Run("DeliveryBetweenReplicas", s.betweenReplicas)
	t.Run("TeamIsolation", s.teamIsolation)
	t.Run("PerWorkerOrder", s.perWorkerOrder)
	t.Run("ConcurrentPublishers", s.concurrentPublishers)
	t.Run("TwoSubscriptionsOneTeam", s.twoSubscriptions)
	t.Run("ContextCancelEndsSubscription", s.ctxCancel)
	t.Run("UnsubscribeIdempotent", s.unsubscribeTwice)
	t.Run("CloseTwice", s.closeTwice)
	t.Run("LastKnownSnapshot", s.lastKnown)
	if f.RestartBroker != nil {
		t.Run("ResumesAfterBrokerRestart", s.restart)
	}
}

type suite struct {
	f     Features
	setup Setup
}

// replicas makes n replicas sharing one namespace, closed at the end of the test.
func (s *suite) replicas(t *testing.T, n int) []tracking.Broadcaster {
	t.Helper()
	newReplica := s.setup(t)
	out := make([]tracking.Broadcaster, n)
	for i := range out {
		b := newReplica()
		t.Cleanup(func() { _ = b.Close() })
		out[i] = b
	}
	return out
}

// Msg builds a valid message of team for worker with sequence number seq; the
// sequence is in the record id as "worker/seq".
func Msg(team, worker string, seq int) tracking.Message {
	p := tracking.Position{
		ID:        fmt.Sprintf("%s.%d", worker, seq),
		WorkerID:  worker,
		Team:      team,
		Location:  tracking.Location{Latitude: -23.5 + float64(seq%100)/1000, Longitude: -46.6},
		TimeStamp: time.Now().UTC(),
	}
	m := p.Message()
	m.Time += int64(seq) // strictly increasing per worker even within one clock tick
	return m
}

func seqOf(m tracking.Message) (worker string, seq int) {
	var id string
	// {"id":"w.12",...}
	if _, err := fmt.Sscanf(string(m.JSON), `{"id":%q`, &id); err != nil {
		return "", -1
	}
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '.' {
			if _, err := fmt.Sscanf(id[i+1:], "%d", &seq); err != nil {
				return id[:i], -1
			}
			return id[:i], seq
		}
	}
	return id, -1
}

// Collector gathers deliveries for assertions.
type Collector struct {
	mu     sync.Mutex
	msgs   []tracking.Message
	notify chan struct{}
}

// NewCollector returns an empty collector.
func NewCollector() *Collector { return &Collector{notify: make(chan struct{}, 1)} }

// Handle is a tracking.Handler.
func (c *Collector) Handle(msgs []tracking.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, msgs...)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Messages returns a copy of what was delivered so far.
func (c *Collector) Messages() []tracking.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tracking.Message(nil), c.msgs...)
}

// WaitFor waits until cond holds for the delivered messages or timeout passes.
func (c *Collector) WaitFor(timeout time.Duration, cond func([]tracking.Message) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if cond(c.Messages()) {
			return true
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return cond(c.Messages())
		}
	}
}

// WaitCount waits for at least n deliveries.
func (c *Collector) WaitCount(timeout time.Duration, n int) bool {
	return c.WaitFor(timeout, func(m []tracking.Message) bool { return len(m) >= n })
}

func (s *suite) subscribe(t *testing.T, ctx context.Context, b tracking.Broadcaster, team string) (*Collector, tracking.Subscription) {
	t.Helper()
	c := NewCollector()
	sub, err := b.Subscribe(ctx, team, c.Handle)
	if err != nil {
		t.Fatalf("subscribe %s: %v", team, err)
	}
	t.Cleanup(sub.Unsubscribe)
	return c, sub
}

func publish(t *testing.T, b tracking.Broadcaster, msgs ...tracking.Message) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		err := b.Publish(context.Background(), msgs...)
		if err == nil {
			return
		}
		if !errors.Is(err, tracking.ErrOverloaded) || attempt > 100 {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // back off from a full queue
	}
}

func (s *suite) sameReplica(t *testing.T) {
	a := s.replicas(t, 1)[0]
	c, _ := s.subscribe(t, context.Background(), a, "team_a")
	publish(t, a, Msg("team_a", "w1", 1))
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery on the publishing replica")
	}
	got := c.Messages()[0]
	if got.Team != "team_a" || got.Worker != "w1" {
		t.Fatalf("delivered team %q worker %q, want team_a w1", got.Team, got.Worker)
	}
	want := Msg("team_a", "w1", 1)
	if _, seq := seqOf(got); seq != 1 || len(got.JSON) != len(want.JSON) {
		t.Fatalf("delivered JSON %s, want one like %s", got.JSON, want.JSON)
	}
}

func (s *suite) betweenReplicas(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := s.subscribe(t, context.Background(), r[1], "team_b")
	for i := 1; i <= 10; i++ {
		publish(t, r[0], Msg("team_b", "w1", i))
	}
	if !c.WaitCount(s.f.Timeout, 10) {
		t.Fatalf("replica B got %d of 10 positions published on A", len(c.Messages()))
	}
}

func (s *suite) teamIsolation(t *testing.T) {
	r := s.replicas(t, 2)
	cx, _ := s.subscribe(t, context.Background(), r[1], "team_x")
	cy, _ := s.subscribe(t, context.Background(), r[1], "team_y")
	for i := 1; i <= 20; i++ {
		publish(t, r[0], Msg("team_y", "wy", i))
	}
	publish(t, r[0], Msg("team_x", "wx", 1))
	if !cy.WaitCount(s.f.Timeout, 20) || !cx.WaitCount(s.f.Timeout, 1) {
		t.Fatalf("deliveries missing: team_x %d/1, team_y %d/20", len(cx.Messages()), len(cy.Messages()))
	}
	for _, m := range cx.Messages() {
		if m.Team != "team_x" {
			t.Fatalf("team_x subscriber got a position of %s: %s", m.Team, m.JSON)
		}
	}
	for _, m := range cy.Messages() {
		if m.Team != "team_y" {
			t.Fatalf("team_y subscriber got a position of %s: %s", m.Team, m.JSON)
		}
	}
}

// checkComplete asserts every worker's 1..n arrived in order.
func checkComplete(t *testing.T, msgs []tracking.Message, workers []string, n int) {
	t.Helper()
	next := make(map[string]int)
	for _, m := range msgs {
		w, seq := seqOf(m)
		if w != m.Worker {
			t.Fatalf("message worker %q but record id %q", m.Worker, w)
		}
		if seq != next[w]+1 {
			t.Fatalf("worker %s: got seq %d after %d", w, seq, next[w])
		}
		next[w] = seq
	}
	for _, w := range workers {
		if next[w] != n {
			t.Fatalf("worker %s: %d of %d positions", w, next[w], n)
		}
	}
}

func (s *suite) perWorkerOrder(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := s.subscribe(t, context.Background(), r[1], "team_o")
	workers := []string{"w1", "w2", "w3", "w4", "w5"}
	const n = 200
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= n; i++ {
				publish(t, r[0], Msg("team_o", w, i))
			}
		}()
	}
	wg.Wait()
	if !c.WaitCount(s.f.Timeout, n*len(workers)) {
		t.Fatalf("got %d of %d positions", len(c.Messages()), n*len(workers))
	}
	checkComplete(t, c.Messages(), workers, n)
}

func (s *suite) concurrentPublishers(t *testing.T) {
	r := s.replicas(t, 3)
	c, _ := s.subscribe(t, context.Background(), r[2], "team_c")
	var wg sync.WaitGroup
	var workers []string
	const n = 50
	for p := 0; p < 8; p++ {
		w := fmt.Sprintf("w%d", p)
		workers = append(workers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= n; i++ {
				publish(t, r[p%2], Msg("team_c", w, i))
			}
		}()
	}
	wg.Wait()
	if !c.WaitCount(s.f.Timeout, 8*n) {
		t.Fatalf("got %d of %d positions from 8 concurrent publishers", len(c.Messages()), 8*n)
	}
	checkComplete(t, c.Messages(), workers, n)
}

func (s *suite) twoSubscriptions(t *testing.T) {
	r := s.replicas(t, 2)
	c1, sub1 := s.subscribe(t, context.Background(), r[1], "team_2")
	c2, _ := s.subscribe(t, context.Background(), r[1], "team_2")
	publish(t, r[0], Msg("team_2", "w1", 1))
	if !c1.WaitCount(s.f.Timeout, 1) || !c2.WaitCount(s.f.Timeout, 1) {
		t.Fatalf("both subscriptions should get the position: %d, %d", len(c1.Messages()), len(c2.Messages()))
	}
	sub1.Unsubscribe()
	publish(t, r[0], Msg("team_2", "w1", 2))
	if !c2.WaitCount(s.f.Timeout, 2) {
		t.Fatal("the remaining subscription stopped receiving when the other one ended")
	}
	if n := len(c1.Messages()); n != 1 {
		t.Fatalf("ended subscription got %d positions, want 1", n)
	}
}

func (s *suite) ctxCancel(t *testing.T) {
	r := s.replicas(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	c, sub := s.subscribe(t, ctx, r[1], "team_cc")
	barrier, _ := s.subscribe(t, context.Background(), r[1], "team_cc")
	publish(t, r[0], Msg("team_cc", "w1", 1))
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery before cancel")
	}
	cancel()
	select {
	case <-sub.Done():
	case <-time.After(s.f.Timeout):
		t.Fatal("Done not closed after the context was cancelled")
	}
	publish(t, r[0], Msg("team_cc", "w1", 2))
	if !barrier.WaitCount(s.f.Timeout, 2) {
		t.Fatal("the other subscription did not get the second position")
	}
	if n := len(c.Messages()); n != 1 {
		t.Fatalf("cancelled subscription got %d positions, want 1", n)
	}
}

func (s *suite) unsubscribeTwice(t *testing.T) {
	r := s.replicas(t, 1)
	_, sub := s.subscribe(t, context.Background(), r[0], "team_u")
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
	_, sub := s.subscribe(t, context.Background(), r[0], "team_close")
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
	if err := r[0].Publish(context.Background(), Msg("team_close", "w", 1)); err == nil {
		t.Fatal("Publish after Close succeeded")
	}
	if _, err := r[0].Subscribe(context.Background(), "team_close", func([]tracking.Message) {}); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
}

func (s *suite) lastKnown(t *testing.T) {
	newReplica := s.setup(t)
	a := newReplica()
	t.Cleanup(func() { _ = a.Close() })
	for i := 1; i <= 5; i++ {
		publish(t, a, Msg("team_l", "w1", i), Msg("team_l", "w2", i))
	}
	publish(t, a, Msg("team_l", "w3", 1), Msg("team_other", "w9", 1))
	// A replica that starts after the positions were published.
	b := newReplica()
	t.Cleanup(func() { _ = b.Close() })
	want := map[string]int{"w1": 5, "w2": 5, "w3": 1}
	var got map[string]int
	deadline := time.Now().Add(s.f.Timeout)
	for {
		msgs, err := b.Last(context.Background(), "team_l")
		if err != nil {
			t.Fatalf("Last: %v", err)
		}
		got = make(map[string]int)
		for _, m := range msgs {
			w, seq := seqOf(m)
			if m.Team != "team_l" {
				t.Fatalf("Last(team_l) returned a position of %s", m.Team)
			}
			if _, dup := got[w]; dup {
				t.Fatalf("Last returned worker %s twice", w)
			}
			got[w] = seq
		}
		if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the backend until its write lands
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Last = %v, want %v", got, want)
	}
	if msgs, err := b.Last(context.Background(), "team_empty"); err != nil || len(msgs) != 0 {
		t.Fatalf("Last of an unknown team = %d positions, %v; want none", len(msgs), err)
	}
}

func (s *suite) restart(t *testing.T) {
	r := s.replicas(t, 2)
	c, _ := s.subscribe(t, context.Background(), r[1], "team_r")
	publish(t, r[0], Msg("team_r", "w1", 1))
	if !c.WaitCount(s.f.Timeout, 1) {
		t.Fatal("no delivery before the restart")
	}
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
}
