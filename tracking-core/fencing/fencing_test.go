package fencing_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/fencing"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const team = "t1"

// A circle of 100 m at (lat0, lon0) with a dwell of 2 minutes.
const lat0, lon0 = -23.55, -46.63

func fences(t testing.TB) func(string) *geofence.Index { return fencesDwell(t, "2m") }

func fencesDwell(t testing.TB, dwell string) func(string) *geofence.Index {
	f, err := geofence.ParseFence([]byte(`{"id":"depot","name":"Depot","dwell":"` + dwell + `",
		"geometry":{"type":"Point","coordinates":[-46.63,-23.55],"radius":100}}`))
	if err != nil {
		t.Fatal(err)
	}
	f.Team = team
	ix := geofence.NewIndex([]geofence.Fence{f})
	return func(tm string) *geofence.Index {
		if tm == team {
			return ix
		}
		return nil
	}
}

// recorder collects what an engine publishes and appends.
type recorder struct {
	mu       sync.Mutex
	alerts   []string // kind of each alert published
	appended []alerting.Event
}

func (r *recorder) publish(_ context.Context, msgs ...tracking.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		var ev struct{ Kind string }
		_ = json.Unmarshal(m.JSON, &ev)
		r.alerts = append(r.alerts, ev.Kind)
	}
	return nil
}

func (r *recorder) append(_ context.Context, evs []alerting.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.appended = append(r.appended, evs...)
	return nil
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

func (r *recorder) stored() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.appended)
}

func pos(worker string, dNorth float64, ts time.Time) *tracking.Position {
	acc := 5.0
	return &tracking.Position{Team: team, WorkerID: worker, TimeStamp: ts, Accuracy: &acc,
		Location: tracking.Location{Latitude: lat0 + dNorth/111_000, Longitude: lon0}}
}

func newEngine(t *testing.T, r *recorder, states tracking.StateStore, sweep time.Duration) *fencing.Engine {
	return newEngineWith(t, fences(t), r, states, sweep)
}

func newEngineWith(t *testing.T, fences func(string) *geofence.Index, r *recorder, states tracking.StateStore, sweep time.Duration) *fencing.Engine {
	t.Helper()
	e, err := fencing.New(fencing.Config{Fences: fences, Publish: r.publish, Append: r.append, States: states, Sweep: sweep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling the engine's effects
	}
}

// In, past the dwell, out: enter, dwell, exit, each published and stored
// once; a future-stamped fix does not make later fixes late; the worker
// moving to another replica (engine) mid-fence gets no second enter.
func TestEnterDwellExitAcrossReplicas(t *testing.T) {
	backend := memory.NewBackend()
	sa, sb := memory.New(backend, memory.Config{}), memory.New(backend, memory.Config{})
	defer sa.Close()
	defer sb.Close()
	r := &recorder{}
	a, b := newEngine(t, r, sa, time.Hour), newEngine(t, r, sb, time.Hour)
	now := time.Now()
	t0 := now.Add(-10 * time.Minute)
	ca := a.Conn()
	ca.Seen(pos("w", -500, t0), now)
	for i := 1; i <= 60; i++ { // 3 minutes inside, a fix every 3 s
		ca.Seen(pos("w", 0, t0.Add(time.Duration(i)*3*time.Second)), now)
	}
	if got := r.kinds(); !slices.Equal(got, []string{"enter", "dwell"}) {
		t.Fatalf("alerts on A: %v, want enter dwell", got)
	}
	ca.End()
	// The saves are asynchronous: wait for the one after the dwell (the
	// state's second change), not the one after the enter.
	waitFor(t, "the state after the dwell saved", func() bool {
		b, _ := sa.LoadState(context.Background(), team, "w")
		var st geofence.WorkerState
		return b != nil && st.UnmarshalBinary(b) == nil && st.Seq >= 2
	})
	// A fix from the future on B: evaluated at now, so later fixes count.
	cb := b.Conn()
	cb.Seen(pos("w", 0, now.Add(time.Hour)), now)
	cb.Seen(pos("w", 0, now.Add(time.Millisecond)), now.Add(2*time.Millisecond))
	cb.Seen(pos("w", 500, now.Add(time.Second)), now.Add(time.Second))
	cb.End()
	if got := r.kinds(); !slices.Equal(got, []string{"enter", "dwell", "exit"}) {
		t.Fatalf("alerts: %v, want enter dwell exit", got)
	}
	waitFor(t, "3 events stored", func() bool { return r.stored() == 3 })
}

// A worker who stops sending inside the fence still gets its dwell, from
// the sweeper, when its own clock reaches it: its last fix time run on by
// the wall time since that fix arrived (not the wall clock: a fix received
// late, from a phone uploading a backlog, does not bring a dwell forward).
func TestSweeperDwellsSilentWorker(t *testing.T) {
	r := &recorder{}
	e := newEngineWith(t, fencesDwell(t, "1s"), r, nil, 10*time.Millisecond)
	now := time.Now()
	c := e.Conn()
	defer c.End()
	c.Seen(pos("w", -500, now.Add(-3*time.Minute)), now)
	c.Seen(pos("w", 0, now.Add(-2*time.Minute)), now) // due 1 s from now
	time.Sleep(200 * time.Millisecond)                // not a synchronisation: the dwell must not come before its time
	if got := r.kinds(); !slices.Equal(got, []string{"enter"}) {
		t.Fatalf("alerts: %v, want enter", got)
	}
	if got := r.kinds(); !slices.Equal(got, []string{"enter"}) {
		t.Fatalf("alerts: %v, want enter", got)
	}
	waitFor(t, "the dwell", func() bool { return len(r.kinds()) == 2 })
	if got := r.kinds(); got[1] != "dwell" {
		t.Fatalf("alerts: %v, want enter dwell", got)
	}
}

// ±15 m of jitter with accuracy 20 m around the edge: no alert.
func TestJitterAtTheEdgeIsQuiet(t *testing.T) {
	r := &recorder{}
	e := newEngine(t, r, nil, time.Hour)
	now := time.Now()
	c := e.Conn()
	defer c.End()
	acc := 20.0
	for i := range 600 {
		p := pos("w", 100+15*float64(1-2*(i%2)), now.Add(-time.Minute+time.Duration(i)*100*time.Millisecond))
		p.Accuracy = &acc
		c.Seen(p, now)
	}
	if got := r.kinds(); len(got) != 0 {
		t.Fatalf("alerts: %v, want none", got)
	}
}

// A team without fences costs no allocation.
func BenchmarkSeenNoFences(b *testing.B) {
	r := &recorder{}
	e, err := fencing.New(fencing.Config{Fences: func(string) *geofence.Index { return nil }, Publish: r.publish})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := e.Conn()
	p := pos("w", 0, time.Now())
	p.Team = "other"
	b.ReportAllocs()
	for b.Loop() {
		c.Seen(p, p.TimeStamp)
	}
}

// A worker walking inside a fenced team's area: one evaluation per fix.
func BenchmarkSeenWalking(b *testing.B) {
	r := &recorder{}
	e, err := fencing.New(fencing.Config{Fences: fences(b), Publish: r.publish})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := e.Conn()
	now := time.Now()
	p := pos("w", 300, now)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p.TimeStamp = now.Add(time.Duration(i) * time.Millisecond)
		c.Seen(p, now)
	}
}
