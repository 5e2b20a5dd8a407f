package sampling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Short durations keep the tests fast; Watched and Unwatched keep their
// defaults, which tell the two apart in the records.
const (
	watched   = time.Second
	unwatched = 30 * time.Second
	grace     = 200 * time.Millisecond
	heartbeat = 50 * time.Millisecond
	discover  = 100 * time.Millisecond
	teamS     = "team_s"
)

// broker returns n memory Broadcasters on one Backend: n replicas.
func broker(t *testing.T, n int) []*memory.Broadcaster {
	be := memory.NewBackend()
	bs := make([]*memory.Broadcaster, n)
	for i := range bs {
		b := memory.New(be, memory.Config{})
		t.Cleanup(func() { _ = b.Close() })
		bs[i] = b
	}
	return bs
}

// advisor returns the Advisor of replica name on mb, closed by the test's end.
func advisor(t *testing.T, mb tracking.Mailbox, name string, tune ...func(*Config)) *Advisor {
	t.Helper()
	cfg := Config{Mailbox: mb, Replica: name, Grace: grace, Heartbeat: heartbeat, Discover: discover}
	for _, f := range tune {
		f(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// advice is one advise call.
type advice struct {
	interval time.Duration
	at       time.Time
}

// recorder records the advise calls of a Follow.
type recorder struct {
	mu   sync.Mutex
	got  []advice
	busy atomic.Bool // an advise call is in progress: two at once is a bug
	t    *testing.T
}

func (r *recorder) advise(d time.Duration) {
	if r.busy.Swap(true) {
		r.t.Error("advise called concurrently")
	}
	defer r.busy.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, advice{d, time.Now()})
}

func (r *recorder) all() []advice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) intervals() []time.Duration {
	var out []time.Duration
	for _, a := range r.all() {
		out = append(out, a.interval)
	}
	return out
}

// follow starts a Follow of team on a, recording its advice.
func follow(t *testing.T, a *Advisor, name string) (*recorder, func()) {
	r := &recorder{t: t}
	leave := a.Follow(name, r.advise)
	t.Cleanup(leave)
	return r, leave
}

// waitAdvice waits until r has been advised want, in order; it fails the
// test if the advice differs, or after 2s.
func waitAdvice(t *testing.T, r *recorder, want ...time.Duration) []advice {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := r.intervals()
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("advice %v, want %v", got, want)
			}
			return r.all()
		}
		if time.Now().After(deadline) {
			t.Fatalf("advice %v after 2s, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor polls cond for up to 2s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after 2s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mailTap records the sampling mail posted to team's address.
type mailTap struct {
	mu  sync.Mutex
	got []mail
}

func tap(t *testing.T, mb tracking.Mailbox, name string) *mailTap {
	mt := &mailTap{}
	sub, err := mb.Listen(t.Context(), tracking.Address{Team: name}, func(p []byte) {
		if m, ok := parseMail(p); ok {
			mt.mu.Lock()
			mt.got = append(mt.got, m)
			mt.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Unsubscribe)
	return mt
}

func (mt *mailTap) has(kind, replica string) bool {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return slices.ContainsFunc(mt.got, func(m mail) bool { return m.Sampling == kind && m.Replica == replica })
}

func TestConfigErrors(t *testing.T) {
	mb := broker(t, 1)[0]
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Replica: "r1"}, "Mailbox"},
		{Config{Mailbox: mb}, "Replica"},
		{Config{Mailbox: mb, Replica: "r1", Watched: -1}, "Watched"},
		{Config{Mailbox: mb, Replica: "r1", Unwatched: -time.Second}, "Unwatched"},
		{Config{Mailbox: mb, Replica: "r1", Grace: -1}, "Grace"},
		{Config{Mailbox: mb, Replica: "r1", Heartbeat: -1}, "Heartbeat"},
		{Config{Mailbox: mb, Replica: "r1", Discover: -1}, "Discover"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	a, err := New(Config{Mailbox: mb, Replica: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if c := a.cfg; c.Watched != time.Second || c.Unwatched != 30*time.Second || c.Grace != 30*time.Second ||
		c.Heartbeat != 5*time.Second || c.Discover != 300*time.Millisecond || c.Logger == nil {
		t.Fatalf("defaults: %+v", c)
	}
}

// A follower with no watcher anywhere is told Unwatched after Discover; a
// manager on another replica makes it Watched; all managers leaving makes
// it Unwatched again, not before Grace.
func TestWatcherOnOtherReplica(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A"), advisor(t, bs[1], "B")
	start := time.Now()
	r, _ := follow(t, a, teamS)
	got := waitAdvice(t, r, unwatched)
	if d := got[0].at.Sub(start); d < discover {
		t.Errorf("Unwatched advised %s after Follow, before Discover (%s)", d, discover)
	}
	if a.Watched(teamS) {
		t.Error("A: Watched before any watcher")
	}

	leave := b.Watch(teamS)
	waitAdvice(t, r, unwatched, watched)
	if !a.Watched(teamS) || !b.Watched(teamS) {
		t.Errorf("Watched: A %v, B %v", a.Watched(teamS), b.Watched(teamS))
	}

	left := time.Now()
	leave()
	leave() // idempotent
	got = waitAdvice(t, r, unwatched, watched, unwatched)
	if d := got[2].at.Sub(left); d < grace {
		t.Errorf("Unwatched advised %s after the last watcher left, within the grace (%s)", d, grace)
	}
	if a.Watched(teamS) {
		t.Error("A: still Watched")
	}
}

// A follower that starts while another replica watches is told Watched
// first (the watcher answers its "who"), never Unwatched.
func TestFollowWhileWatched(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A", func(c *Config) { c.Discover = time.Second }), advisor(t, bs[1], "B")
	mt := tap(t, bs[0], teamS)
	b.Watch(teamS)
	waitFor(t, "B's watch posted", func() bool { return mt.has(kindWatch, "B") })
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched) // answered: waiting for Discover would have given Unwatched
	if !mt.has(kindWho, "A") {
		t.Error("A posted no who")
	}
	// A second Follow on A is told at once from what A knows.
	r2, _ := follow(t, a, teamS)
	waitAdvice(t, r2, watched)
}

// A watcher back within the grace: the followers never see a change.
func TestRewatchWithinGrace(t *testing.T) {
	const grace = 600 * time.Millisecond
	bs := broker(t, 3)
	logs := &logRecorder{}
	a := advisor(t, bs[0], "A", func(c *Config) { c.Grace = grace; c.Logger = slog.New(logs) })
	b, c := advisor(t, bs[1], "B"), advisor(t, bs[2], "C")
	mt := tap(t, bs[0], teamS)
	leaveB := b.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)

	leaveB()
	// A has applied B's unwatch, in the step that starts its grace.
	waitFor(t, "B's unwatch applied on A", func() bool { return logs.has("sampling: unwatch") })
	c.Watch(teamS)
	waitFor(t, "C's watch posted", func() bool { return mt.has(kindWatch, "C") })
	time.Sleep(grace) // past the end of the first grace
	if got := r.intervals(); !slices.Equal(got, []time.Duration{watched}) {
		t.Fatalf("advice %v, want only Watched", got)
	}
	// A Follow joining now gets Watched.
	r2, _ := follow(t, a, teamS)
	waitAdvice(t, r2, watched)
}

// A Follow that joins during the grace is told Watched, then Unwatched
// with the others when it ends.
func TestFollowDuringGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A", func(c *Config) { c.Grace = grace }), advisor(t, bs[1], "B")
	mt := tap(t, bs[0], teamS)
	leave := b.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)
	leave()
	waitFor(t, "B's unwatch posted", func() bool { return mt.has(kindUnwatch, "B") })
	r2, _ := follow(t, a, teamS)
	waitAdvice(t, r2, watched, unwatched)
	waitAdvice(t, r, watched, unwatched)
}

// Two watchers on two replicas: one leaving changes nothing; the other
// leaving ends the watch.
func TestTwoWatchersOneLeaves(t *testing.T) {
	bs := broker(t, 3)
	a, b, c := advisor(t, bs[0], "A"), advisor(t, bs[1], "B"), advisor(t, bs[2], "C")
	leaveB, leaveC := b.Watch(teamS), c.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)
	leaveB()
	time.Sleep(3*heartbeat + 2*grace) // a lapse or a grace would have ended by now
	if got := r.intervals(); !slices.Equal(got, []time.Duration{watched}) {
		t.Fatalf("advice with C still watching: %v", got)
	}
	leaveC()
	waitAdvice(t, r, watched, unwatched)
}

// A watching replica that crashes posts no unwatch: its lease lapses after
// 3 heartbeats, then the grace runs.
func TestCrashedWatcherLapses(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A"), advisor(t, bs[1], "B")
	b.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)

	crash := time.Now()
	_ = bs[1].Close() // B's listen ends and its posts fail from now on
	b.Close()         // its unwatch cannot be posted
	got := waitAdvice(t, r, watched, unwatched)
	// B's last watch was at most a heartbeat before the crash: its lease
	// ran at least 2 more, then the grace.
	if d := got[1].at.Sub(crash); d < 2*heartbeat+grace {
		t.Errorf("Unwatched %s after the crash, before the lease could lapse and the grace end (%s)", d, 2*heartbeat+grace)
	}
}

// A watching replica that closes tells the others.
func TestCloseUnwatches(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A", func(c *Config) { c.Heartbeat = time.Minute }), advisor(t, bs[1], "B")
	mt := tap(t, bs[0], teamS)
	b.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)
	b.Close()
	b.Close() // idempotent
	if !mt.has(kindUnwatch, "B") {
		t.Fatal("B closed without posting unwatch")
	}
	// With A's leases at 3 minutes, only the unwatch explains this.
	waitAdvice(t, r, watched, unwatched)
}

// Watchers and followers on one replica: its own watch counts at once, and
// its own mail (even forged) is ignored.
func TestLocal(t *testing.T) {
	mb := broker(t, 1)[0]
	a := advisor(t, mb, "A", func(c *Config) { c.Discover = time.Minute })
	leave := a.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)
	leave()
	waitAdvice(t, r, watched, unwatched)

	// Mail that is not sampling's, or from A's own name, changes nothing.
	for _, p := range []string{`not json`, `{"type":"config"}`, `{"sampling":"bogus","replica":"X"}`,
		`{"sampling":"watch"}`, `{"sampling":"watch","replica":"A"}`} {
		if err := mb.Post(t.Context(), tracking.Address{Team: teamS}, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * heartbeat)
	if got := r.intervals(); len(got) != 2 || a.Watched(teamS) {
		t.Fatalf("advice after foreign mail: %v (Watched %v)", got, a.Watched(teamS))
	}
	// A "watch" from another replica, with its own lease, does count.
	if err := mb.Post(t.Context(), tracking.Address{Team: teamS}, []byte(`{"sampling":"watch","replica":"X","lease_ms":100}`)); err != nil {
		t.Fatal(err)
	}
	waitAdvice(t, r, watched, unwatched, watched, unwatched)
}

// logRecorder is a slog.Handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) has(msg string) bool { return h.count(msg) > 0 }

func (h *logRecorder) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// failing is a Mailbox whose broker is down.
type failing struct{}

var errDown = errors.New("broker down")

func (failing) Post(context.Context, tracking.Address, []byte) error { return tracking.ErrOverloaded }
func (failing) Listen(context.Context, tracking.Address, func([]byte)) (tracking.Subscription, error) {
	return nil, errDown
}

// With the broker down, Watch and Follow still work from what the replica
// knows: its own watchers, else Unwatched after Discover.
func TestBrokerDown(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	logs := &logRecorder{}
	a := advisor(t, failing{}, "A", func(c *Config) { c.Registerer = reg; c.Logger = slog.New(logs) })
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, unwatched)
	leave := a.Watch(teamS)
	waitAdvice(t, r, unwatched, watched)
	leave()
	waitAdvice(t, r, unwatched, watched, unwatched)
	if n := testutil.ToFloat64(a.m.errors.WithLabelValues("listen")); n < 2 {
		t.Errorf("listen errors: %v, want the retries counted", n)
	}
	// Warned once per failing streak, not at each retry.
	if n := logs.count("sampling: cannot listen for the team's watchers; retrying"); n != 1 {
		t.Errorf("%d listen warnings", n)
	}
	if n := testutil.ToFloat64(a.m.errors.WithLabelValues("post")); n < 1 {
		t.Errorf("post errors: %v", n)
	}
}

// leave and Close: idempotent; no advice after leave; nothing after Close;
// the team's goroutine ends once it is neither watched nor followed.
func TestLeaveAndClose(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A"), advisor(t, bs[1], "B")
	r, leave := follow(t, a, teamS)
	waitAdvice(t, r, unwatched)
	leave()
	leave()
	leaveW := b.Watch(teamS)
	waitFor(t, "B watched", func() bool { return b.Watched(teamS) })
	time.Sleep(3 * heartbeat)
	if got := r.intervals(); len(got) != 1 {
		t.Fatalf("advice after leave: %v", got)
	}
	waitFor(t, "A's team ended", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.teams) == 0
	})
	leaveW()
	leaveW()
	waitFor(t, "B's team ended", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.teams) == 0
	})

	a.Close()
	a.Close()
	r2 := &recorder{t: t}
	a.Follow(teamS, r2.advise)()
	a.Watch(teamS)()
	if a.Watched(teamS) || len(r2.all()) != 0 {
		t.Fatal("advisor works after Close")
	}
}

// Many teams, watched and followed across replicas, each advised on its own.
func TestManyTeams(t *testing.T) {
	bs := broker(t, 2)
	a, b := advisor(t, bs[0], "A"), advisor(t, bs[1], "B")
	var rs []*recorder
	for i := range 20 {
		name := fmt.Sprintf("team_%d", i)
		if i%2 == 0 {
			b.Watch(name)
		}
		r, _ := follow(t, a, name)
		rs = append(rs, r)
	}
	for i, r := range rs {
		if i%2 == 0 {
			waitAdvice(t, r, watched)
		} else {
			waitAdvice(t, r, unwatched)
		}
	}
}

func TestMetrics(t *testing.T) {
	bs := broker(t, 2)
	reg := prometheus.NewPedanticRegistry()
	a := advisor(t, bs[0], "A", func(c *Config) { c.Registerer = reg })
	b := advisor(t, bs[1], "B")
	leave := a.Watch("team_w")
	b.Watch(teamS)
	r, _ := follow(t, a, teamS)
	waitAdvice(t, r, watched)
	waitFor(t, "gauges set", func() bool {
		return testutil.ToFloat64(a.m.teamsWatched) == 1 && testutil.ToFloat64(a.m.teamsFollowed) == 1 &&
			testutil.ToFloat64(a.m.advisedWatched) == 1
	})
	if n := testutil.ToFloat64(a.m.advice.WithLabelValues("watched")); n != 1 {
		t.Errorf("advice watched: %v", n)
	}
	// Mail is counted as it is handled, which may come after the advice.
	waitFor(t, "watch and who mail counted", func() bool {
		return testutil.ToFloat64(a.m.mail.WithLabelValues(kindWatch)) >= 1 && testutil.ToFloat64(a.m.mail.WithLabelValues(kindWho)) >= 1
	})
	leave()
	waitFor(t, "teams watched 0", func() bool { return testutil.ToFloat64(a.m.teamsWatched) == 0 })
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gather: %d, %v", n, err)
	}
}
