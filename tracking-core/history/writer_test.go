package history_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/testsupport"
)

// fakeStore fails (blocking each Write until its ctx ends, as a database
// that does not answer would) until healed, then keeps what it is given.
type fakeStore struct {
	mu      sync.Mutex
	down    bool
	ids     map[string]bool
	written []history.Record
}

func (f *fakeStore) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

func (f *fakeStore) Write(ctx context.Context, recs []history.Record) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond): // a quick failure, like a refused connection
			return errors.New("connection refused")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range recs {
		if !f.ids[r.Position.ID] {
			f.ids[r.Position.ID] = true
			f.written = append(f.written, r)
		}
	}
	return nil
}

func (f *fakeStore) Query(context.Context, history.Query) (history.Page, error) {
	return history.Page{}, nil
}
func (f *fakeStore) Prune(context.Context, time.Time) error { return nil }
func (f *fakeStore) Ready(context.Context) error            { return nil }
func (f *fakeStore) Close() error                           { return nil }

func record(i int) history.Record {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return history.Record{Position: tracking.Position{ID: fmt.Sprintf("r-%07d", i), WorkerID: "w-1", Team: "team_one", TimeStamp: at}, Received: at}
}

func TestWriterBoundsTheBacklogAndCountsDrops(t *testing.T) {
	store := &fakeStore{ids: map[string]bool{}}
	store.setDown(true)
	reg := prometheus.NewRegistry()
	w := history.NewWriter(store, history.WriterConfig{
		Backlog: 100, Batch: 10, Writes: 2, Linger: time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Registerer: reg,
	})
	defer w.Close()
	const n = 5000
	for i := range n {
		w.Add(record(i)) // returns at once: the store is down
		if b := w.Stats().Backlog; b > 100 {
			t.Fatalf("backlog %d after %d adds, bound 100", b, i+1)
		}
	}
	st := w.Stats()
	// Held: the backlog and the two batches being retried.
	if st.Added != n || st.Dropped < n-100-2*10 {
		t.Fatalf("stats while down: %+v; want %d added, at least %d dropped", st, n, n-120)
	}
	store.setDown(false)
	testsupport.Eventually(t, 10*time.Second, "the backlog to drain", func() bool {
		s := w.Stats()
		return s.Backlog == 0 && s.Written+s.Dropped == s.Added
	})
	st = w.Stats()
	store.mu.Lock()
	got := len(store.written)
	newest := store.ids[record(n-1).Position.ID]
	store.mu.Unlock()
	if uint64(got) != st.Written {
		t.Fatalf("store holds %d records, Written %d", got, st.Written)
	}
	// The oldest were dropped: the newest record made it.
	if !newest {
		t.Fatalf("the newest record %s was not written", record(n-1).Position.ID)
	}
	if v := testutil.ToFloat64(metric(t, reg, "history_records_written_total")); v != float64(st.Written) {
		t.Fatalf("history_records_written_total %v, want %d", v, st.Written)
	}
	dropped := 0.0
	for _, r := range []string{"backlog_full", "shutdown", "closed"} {
		dropped += testutil.ToFloat64(droppedCounter(t, reg, r))
	}
	if dropped != float64(st.Dropped) {
		t.Fatalf("history_records_dropped_total sums to %v, Dropped %d", dropped, st.Dropped)
	}
	if testutil.ToFloat64(metric(t, reg, "history_write_errors_total")) == 0 {
		t.Fatal("no write error counted while the store was down")
	}
}

func TestWriterCloseFlushesThenDropsAfterGrace(t *testing.T) {
	store := &fakeStore{ids: map[string]bool{}}
	w := history.NewWriter(store, history.WriterConfig{Batch: 1000, Linger: time.Hour})
	for i := range 250 {
		w.Add(record(i))
	}
	_ = w.Close() // flushes at once, without lingering
	if st := w.Stats(); st.Written != 250 || st.Dropped != 0 {
		t.Fatalf("after Close: %+v, want 250 written", st)
	}
	w.Add(record(999))
	if st := w.Stats(); st.Dropped != 1 {
		t.Fatalf("an Add after Close: %+v, want it dropped", st)
	}
	_ = w.Close() // idempotent

	down := &fakeStore{ids: map[string]bool{}}
	down.setDown(true)
	w = history.NewWriter(down, history.WriterConfig{Batch: 10, Grace: 50 * time.Millisecond, MinBackoff: time.Millisecond})
	for i := range 100 {
		w.Add(record(i))
	}
	_ = w.Close()
	if st := w.Stats(); st.Written != 0 || st.Dropped != 100 || st.Backlog != 0 {
		t.Fatalf("Close with the store down: %+v, want all 100 dropped", st)
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return gathered{reg: reg, name: name}
}

func droppedCounter(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	return gathered{reg: reg, name: "history_records_dropped_total", label: reason}
}

// gathered is the one series of a registry's metric name (with the reason
// label, if given), as a Collector for testutil.ToFloat64.
type gathered struct {
	reg         *prometheus.Registry
	name, label string
}

func (g gathered) Describe(ch chan<- *prometheus.Desc) {}

func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g.label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != g.label) {
				continue
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.UntypedValue, v)
		}
	}
}

// concurrentStore records how many Writes were in flight at once; the
// first Writes wait until two are in flight at once (or 10 s pass).
type concurrentStore struct {
	fakeStore
	mu       sync.Mutex
	inFlight int
	most     int
	met      chan struct{} // closed when two Writes were in flight
}

func (c *concurrentStore) Write(ctx context.Context, recs []history.Record) error {
	c.mu.Lock()
	c.inFlight++
	c.most = max(c.most, c.inFlight)
	if c.inFlight == 2 && c.most == 2 {
		select {
		case <-c.met:
		default:
			close(c.met)
		}
	}
	c.mu.Unlock()
	select {
	case <-c.met:
	case <-time.After(10 * time.Second):
	}
	c.mu.Lock()
	c.inFlight--
	c.mu.Unlock()
	return c.fakeStore.Write(ctx, recs)
}

func TestWriterWritesBatchesConcurrently(t *testing.T) {
	store := &concurrentStore{fakeStore: fakeStore{ids: map[string]bool{}}, met: make(chan struct{})}
	w := history.NewWriter(store, history.WriterConfig{Batch: 10, Writes: 2, Linger: time.Millisecond})
	for i := range 40 {
		w.Add(record(i))
	}
	testsupport.Eventually(t, 10*time.Second, "40 records written", func() bool { return w.Stats().Written == 40 })
	_ = w.Close()
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.most != 2 {
		t.Fatalf("at most %d writes in flight, want 2", store.most)
	}
}
