package hub_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/teamtrack/tracking-core/testsupport"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// counting wraps a Broadcaster and counts live subscriptions per team.
type counting struct {
	tracking.Broadcaster
	mu   sync.Mutex
	live map[string]int
}

func (c *counting) Subscribe(ctx context.Context, team string, h tracking.Handler) (tracking.Subscription, error) {
	sub, err := c.Broadcaster.Subscribe(ctx, team, h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.live[team]++
	c.mu.Unlock()
	go func() {
		<-sub.Done()
		c.mu.Lock()
		c.live[team]--
		c.mu.Unlock()
	}()
	return sub, nil
}

func (c *counting) subscriptions(team string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[team]
}

func TestSubscribesOnlyWhileWatched(t *testing.T) {
	b := &counting{Broadcaster: memory.New(memory.NewBackend(), memory.Config{}), live: map[string]int{}}
	defer b.Close()
	h := hub.New(b, hub.Config{})
	defer h.Close()

	q1, q2 := hub.NewQueue(0, 0), hub.NewQueue(0, 0)
	leave1, _, err := h.Watch(context.Background(), "team_a", q1, hub.Start{})
	if err != nil {
		t.Fatal(err)
	}
	leave2, _, err := h.Watch(context.Background(), "team_a", q2, hub.Start{})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.subscriptions("team_a"); n != 1 {
		t.Fatalf("two watchers of one team hold %d broker subscriptions, want 1", n)
	}
	if n := b.subscriptions("team_b"); n != 0 {
		t.Fatalf("an unwatched team has %d subscriptions", n)
	}
	_ = b.Publish(context.Background(), tracking.Message{Team: "team_a", Worker: "w", Time: 1, JSON: []byte("{}")})
	for _, q := range []*hub.Queue{q1, q2} {
		if got, _ := records(drain(q)); len(got) != 1 {
			t.Fatalf("watcher got %d positions, want 1", len(got))
		}
	}
	leave1()
	if n := b.subscriptions("team_a"); n != 1 {
		t.Fatalf("subscription ended while a watcher remains (%d)", n)
	}
	leave2()
	leave2() // idempotent
	testsupport.Eventually(t, 5*time.Second, "the subscription count", func() bool { return b.subscriptions("team_a") == 0 })
	if h.Teams() != 0 {
		t.Fatalf("hub still lists %d teams", h.Teams())
	}
}

func TestSlowWatcherDoesNotBlockOthers(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	defer b.Close()
	h := hub.New(b, hub.Config{})
	defer h.Close()
	slow, fast := hub.NewQueue(16, 100), hub.NewQueue(1000, 1000)
	for _, q := range []*hub.Queue{slow, fast} {
		leave, _, err := h.Watch(context.Background(), "t", q, hub.Start{})
		if err != nil {
			t.Fatal(err)
		}
		defer leave()
	}
	var got atomic.Int64
	for i := 1; i <= 10000; i++ {
		_ = b.Publish(context.Background(), tracking.Message{Team: "t", Worker: "w" + string(rune('a'+i%10)), Time: int64(i), JSON: []byte("{}")})
		if i%100 == 0 {
			out, _ := records(drain(fast))
			got.Add(int64(len(out)))
		}
	}
	if got.Load() != 10000 {
		t.Fatalf("fast watcher got %d of 10000", got.Load())
	}
	if l := slow.Len(); l > 32 {
		t.Fatalf("slow watcher holds %d positions for 10 workers", l)
	}
}

// slowEnd is a Subscription whose Unsubscribe takes a while, as a broker's does.
type slowEnd struct{ tracking.Subscription }

func (s slowEnd) Unsubscribe() {
	time.Sleep(time.Millisecond) // widens the window between the last leave and the end
	s.Subscription.Unsubscribe()
}

type slowEnding struct{ tracking.Broadcaster }

func (b slowEnding) Subscribe(ctx context.Context, team string, h tracking.Handler) (tracking.Subscription, error) {
	sub, err := b.Broadcaster.Subscribe(ctx, team, h)
	if err != nil {
		return nil, err
	}
	return slowEnd{sub}, nil
}

// A Broadcaster holds one subscription per team: a watcher arriving while the
// last one's subscription is still ending waits for it instead of failing.
func TestWatchWhileLastWatcherLeaves(t *testing.T) {
	mem := memory.New(memory.NewBackend(), memory.Config{})
	defer mem.Close()
	h := hub.New(slowEnding{mem}, hub.Config{})
	defer h.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				leave, _, err := h.Watch(context.Background(), "team_churn", hub.NewQueue(0, 0), hub.Start{})
				if err != nil {
					errs <- err
					return
				}
				leave()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("watch during churn: %v", err)
	}
	q := hub.NewQueue(0, 0)
	leave, _, err := h.Watch(context.Background(), "team_churn", q, hub.Start{})
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	_ = mem.Publish(context.Background(), tracking.Message{Team: "team_churn", Worker: "w", Time: 1, JSON: []byte("{}")})
	if got, _ := records(drain(q)); len(got) != 1 {
		t.Fatalf("the watcher after the churn got %d positions, want 1", len(got))
	}
}

// gatedLast wraps a Broadcaster: its Last reads, signals reading, then
// waits for release, and counts its calls.
type gatedLast struct {
	tracking.Broadcaster
	calls   atomic.Int32
	reading chan struct{} // one signal a call
	release chan struct{} // closed to let every call return
}

func (g *gatedLast) Last(ctx context.Context, team string) ([]tracking.Message, error) {
	g.calls.Add(1)
	last, err := g.Broadcaster.Last(ctx, team)
	g.reading <- struct{}{}
	<-g.release
	return last, err
}

// Watchers of a team that start while its snapshot is being read share the
// next read, which begins after they are in place: a position published
// after the first read and before they watched is in their snapshot.
func TestWatchersShareSnapshotReads(t *testing.T) {
	mem := memory.New(memory.NewBackend(), memory.Config{})
	defer mem.Close()
	g := &gatedLast{Broadcaster: mem, reading: make(chan struct{}, 64), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	h := hub.New(g, hub.Config{Registerer: reg})
	defer h.Close()
	ctx := context.Background()
	pos := func(worker string) tracking.Message {
		now := time.Now().UnixNano()
		return tracking.Message{Team: "team_a", Worker: worker, Time: now, Received: now, JSON: []byte(`{"workerId":"` + worker + `"}`)}
	}
	if err := mem.Publish(ctx, pos("w1")); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 5*time.Second, "w1's last position", func() bool { l, _ := mem.Last(ctx, "team_a"); return len(l) == 1 })

	const later = 10
	queues := make([]*hub.Queue, 1+later)
	for i := range queues {
		queues[i] = hub.NewQueue(0, 0)
	}
	var wg sync.WaitGroup
	leaves := make([]func(), len(queues))
	watch := func(i int) {
		wg.Go(func() {
			leave, _, err := h.Watch(ctx, "team_a", queues[i], hub.Start{})
			if err != nil {
				t.Error(err)
				return
			}
			leaves[i] = leave
		})
	}
	watch(0)
	<-g.reading // the first read has been made (w1 only) and is held
	if err := mem.Publish(ctx, pos("w2")); err != nil {
		t.Fatal(err)
	}
	// Delivered live to the first watcher, which is in place: once it has
	// w2, the broker has published it, before the others watch.
	testsupport.Eventually(t, 5*time.Second, "w2 live to the first watcher", func() bool { return queues[0].Len() > 0 })
	for i := 1; i <= later; i++ {
		watch(i)
	}
	testsupport.Eventually(t, 5*time.Second, "every watcher in place", func() bool {
		return testsupport.MetricSum(t, reg, "tracking_hub_watchers") == 1+later
	})
	close(g.release)
	wg.Wait()
	for i, q := range queues {
		got, _ := records(drain(q))
		workers := map[string]bool{}
		for _, m := range got {
			workers[m.Worker] = true
		}
		if !workers["w1"] || !workers["w2"] {
			t.Errorf("watcher %d got %v, want w1 and w2", i, workers)
		}
	}
	// One read for the first watcher, one shared by the ten (a third if a
	// watcher was slow to ask: it still reads once, not ten times).
	if n := g.calls.Load(); n < 2 || n > 3 {
		t.Errorf("%d snapshot reads for 11 watchers, want 2 (at most 3)", n)
	}
	if n := testsupport.MetricSum(t, reg, "tracking_hub_snapshot_reads_total"); n != float64(g.calls.Load()) {
		t.Errorf("tracking_hub_snapshot_reads_total %v, want %d", n, g.calls.Load())
	}
	for _, leave := range leaves {
		if leave != nil {
			leave()
		}
	}
}
