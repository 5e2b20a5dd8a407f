package broadcasttest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Msg builds a valid message of team for worker with sequence number seq,
// received now; the record id is "worker.seq". Its fix time grows with seq,
// strictly even within one clock tick.
func Msg(team, worker string, seq int) tracking.Message {
	now := time.Now()
	m := MsgAt(team, worker, seq, now, now)
	m.Time += int64(seq)
	return m
}

// MsgAt is Msg with the given fix and receipt times.
func MsgAt(team, worker string, seq int, fix, received time.Time) tracking.Message {
	p := tracking.Position{
		ID:        fmt.Sprintf("%s.%d", worker, seq),
		WorkerID:  worker,
		Team:      team,
		Location:  tracking.Location{Latitude: -23.5 + float64(seq%100)/1000, Longitude: -46.6},
		TimeStamp: fix.UTC(),
	}
	return wire.NewMessage(&p, received)
}

// Seq returns the worker and sequence number of a message made by Msg, from
// its record id; seq is -1 when the id is not of that form.
func Seq(m tracking.Message) (worker string, seq int) {
	_, id, _ := strings.Cut(string(m.JSON), `{"id":"`)
	id, _, _ = strings.Cut(id, `"`)
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return id, -1
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil {
		return id, -1
	}
	return id[:i], n
}

// Collector gathers deliveries for assertions. It keeps the delivered
// Messages (never the slices), as the contract allows.
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

// Subscribe subscribes c to team on b, ending the subscription with the test.
func Subscribe(t testing.TB, ctx context.Context, b tracking.Broadcaster, team string) (*Collector, tracking.Subscription) {
	t.Helper()
	c := NewCollector()
	sub, err := b.Subscribe(ctx, team, c.Handle)
	if err != nil {
		t.Fatalf("subscribe %s: %v", team, err)
	}
	t.Cleanup(sub.Unsubscribe)
	return c, sub
}

// Publish publishes msgs, backing off while the send queue is full. It
// returns an error instead of failing the test, so that it may run on any
// goroutine.
func Publish(b tracking.Broadcaster, msgs ...tracking.Message) error {
	for attempt := 0; ; attempt++ {
		err := b.Publish(context.Background(), msgs...)
		if err == nil || !errors.Is(err, tracking.ErrOverloaded) || attempt > 1000 {
			return err
		}
		time.Sleep(5 * time.Millisecond) // back off from a full queue
	}
}

// MustPublish is Publish that fails the test on an error; for the test's
// own goroutine only.
func MustPublish(t testing.TB, b tracking.Broadcaster, msgs ...tracking.Message) {
	t.Helper()
	if err := Publish(b, msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// CheckComplete reports (as an error) unless msgs hold exactly 1..n of every
// worker, each worker's in order, and nothing else.
func CheckComplete(msgs []tracking.Message, workers []string, n int) error {
	next := make(map[string]int)
	for _, m := range msgs {
		w, seq := Seq(m)
		if w != m.Worker {
			return fmt.Errorf("message worker %q but record id of %q", m.Worker, w)
		}
		if seq != next[w]+1 {
			return fmt.Errorf("worker %s: got seq %d after %d", w, seq, next[w])
		}
		next[w] = seq
	}
	for _, w := range workers {
		if next[w] != n {
			return fmt.Errorf("worker %s: %d of %d positions", w, next[w], n)
		}
	}
	if len(next) != len(workers) {
		return fmt.Errorf("positions of %d workers, want %d", len(next), len(workers))
	}
	return nil
}

// LastSeqs returns worker -> seq of the positions in Last(team), failing on
// a duplicate worker or a position of another team.
func LastSeqs(t testing.TB, b tracking.Broadcaster, team string) map[string]int {
	t.Helper()
	msgs, err := b.Last(context.Background(), team)
	if err != nil {
		t.Fatalf("Last(%s): %v", team, err)
	}
	got := make(map[string]int, len(msgs))
	for _, m := range msgs {
		if m.Kind != tracking.KindPosition {
			continue
		}
		w, seq := Seq(m)
		if m.Team != team {
			t.Fatalf("Last(%s) returned a position of %s", team, m.Team)
		}
		if _, dup := got[w]; dup {
			t.Fatalf("Last(%s) returned worker %s twice", team, w)
		}
		got[w] = seq
	}
	return got
}

// WaitLast polls Last(team) until it is want or the timeout passes, and
// returns what it saw last. Writes of last positions land asynchronously.
func WaitLast(t testing.TB, b tracking.Broadcaster, team string, timeout time.Duration, want map[string]int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := LastSeqs(t, b, team)
		if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond) // polling the backend until its write lands
	}
}
