package discovery

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// fakeConsul answers /v1/health/service/{svc} like an agent, with blocking
// queries that end at a change or after their wait (at most 2s), and can be
// told to fail or to restart with an index history of its own. It lets the resolver's error handling be
// tested without a real agent.
type fakeConsul struct {
	*httptest.Server
	mu      sync.Mutex
	index   uint64
	entries []map[string]any
	failing bool
	changed chan struct{}
}

func newFakeConsul(t *testing.T) *fakeConsul {
	f := &fakeConsul{index: 10, changed: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeConsul) set(failing bool, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(failing, addrs)
}

// restart answers addrs from now on with an index lower than before, as an
// agent that lost its state does, without ever failing a query.
func (f *fakeConsul) restart(addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = 1
	f.setLocked(false, addrs)
}

func (f *fakeConsul) setLocked(failing bool, addrs []string) {
	f.failing = failing
	f.entries = nil
	for i, a := range addrs {
		host, p, _ := net.SplitHostPort(a)
		port, _ := strconv.Atoi(p)
		f.entries = append(f.entries, map[string]any{
			"Node":    map[string]any{"Address": "10.9.9.9"},
			"Service": map[string]any{"ID": fmt.Sprintf("id-%d", i), "Service": "svc", "Address": host, "Port": port},
			"Checks":  []any{},
		})
	}
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeConsul) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/health/service/svc" || r.URL.Query().Get("passing") == "" {
		http.NotFound(w, r)
		return
	}
	want, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil || wait <= 0 || wait > 2*time.Second {
		wait = 2 * time.Second
	}
	f.mu.Lock()
	if want != 0 && want == f.index && !f.failing {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if f.failing {
		http.Error(w, "No cluster leader", http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.entries)
}

// followFake starts a fake agent serving addrs for "svc" and a resolver of
// it (closed with the test) that has learnt them. rec, when not nil, takes
// the resolver's logs; grace is its EmptyGrace.
func followFake(t *testing.T, grace time.Duration, rec *logRecorder, addrs ...string) (*fakeConsul, *Consul) {
	t.Helper()
	fake := newFakeConsul(t)
	fake.set(false, addrs...)
	cfg := ConsulConfig{Addr: fake.URL, Services: []string{"svc"}, MaxBackoff: 100 * time.Millisecond, EmptyGrace: grace}
	if rec != nil {
		cfg.Logger = slog.New(rec)
	}
	r, err := NewConsul(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	waitInstances(t, r, "svc", 5*time.Second, addrs...)
	return fake, r
}

func TestConsulResolverFollowsAndKeepsLastKnownSet(t *testing.T) {
	rec := &logRecorder{}
	fake, r := followFake(t, 0, rec, "127.0.0.1:1001", "127.0.0.1:1002")
	if got := r.Instances("other"); got != nil {
		t.Fatalf("Instances(other) = %v", got)
	}
	if err := r.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	// A change arrives through the blocking query.
	fake.set(false, "127.0.0.1:1002")
	waitInstances(t, r, "svc", 5*time.Second, "127.0.0.1:1002")

	// Consul fails: the last known set stays.
	fake.set(true)
	rec.waitFor(t, "consul unreachable", 5*time.Second)
	if got := addresses(r.Instances("svc")); len(got) != 1 || got[0] != "127.0.0.1:1002" {
		t.Fatalf("while consul fails: %v, want the last known set", got)
	}
	if err := r.Ready(); err != nil {
		t.Fatalf("Ready while consul fails: %v", err)
	}

	// Consul is back: the resolver follows again.
	fake.set(false, "127.0.0.1:1003")
	waitInstances(t, r, "svc", 5*time.Second, "127.0.0.1:1003")
	rec.waitFor(t, "consul reachable again", 5*time.Second)

	// An empty set is a real answer too.
	fake.set(false)
	waitInstances(t, r, "svc", 5*time.Second)

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	<-r.Changed()
}

func TestConsulResolverNotReadyUntilLearnt(t *testing.T) {
	r, err := NewConsul(ConsulConfig{Addr: testsupport.FreeAddr(t), Services: []string{"a", "b"},
		MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Ready(); err == nil {
		t.Fatal("Ready with no answer from consul")
	}
	if got := r.Instances("a"); got != nil {
		t.Fatalf("Instances(a) = %v", got)
	}
}

func TestNewConsulNeedsServices(t *testing.T) {
	if _, err := NewConsul(ConsulConfig{Addr: "127.0.0.1:1"}); err == nil {
		t.Fatal("NewConsul accepted no services")
	}
}

// TestConsulResolverGraceAfterEmptyRestart: an agent that comes back empty
// after being unreachable (a restarted -dev agent) does not empty the set
// while the replicas register again; the first answer with instances is
// taken at once.
func TestConsulResolverGraceAfterEmptyRestart(t *testing.T) {
	rec := &logRecorder{}
	fake, r := followFake(t, time.Hour, rec, "127.0.0.1:1001", "127.0.0.1:1002")

	fake.set(true)
	rec.waitFor(t, "consul unreachable", 5*time.Second)
	fake.set(false) // back, knowing nothing
	rec.waitFor(t, "consul answered no instance after a reconnect", 5*time.Second)
	if got := addresses(r.Instances("svc")); len(got) != 2 {
		t.Fatalf("after an empty answer following a reconnect: %v, want the last known set", got)
	}
	fake.set(false, "127.0.0.1:1002") // one replica registered again
	waitInstances(t, r, "svc", 5*time.Second, "127.0.0.1:1002")

	// With the grace settled, an empty answer is believed at once.
	fake.set(false)
	waitInstances(t, r, "svc", 5*time.Second)
	if rec.count("consul answered no instance after a reconnect") != 1 {
		t.Errorf("the empty answer after the settled reconnect was doubted too")
	}
}

// TestConsulResolverGraceAfterIndexReset: an agent that lost its state
// without ever failing a query (its index went backwards) gets the same grace.
func TestConsulResolverGraceAfterIndexReset(t *testing.T) {
	rec := &logRecorder{}
	fake, r := followFake(t, time.Hour, rec, "127.0.0.1:1001")
	fake.restart()
	rec.waitFor(t, "consul answered no instance after a reconnect", 5*time.Second)
	if got := addresses(r.Instances("svc")); len(got) != 1 {
		t.Fatalf("after an empty answer following an index reset: %v, want the last known set", got)
	}
	fake.set(false, "127.0.0.1:1003")
	waitInstances(t, r, "svc", 5*time.Second, "127.0.0.1:1003")
}

// TestConsulResolverBelievesEmptyAfterGrace: an empty set still answered
// when the grace ends is believed, and Changed tells it.
func TestConsulResolverBelievesEmptyAfterGrace(t *testing.T) {
	rec := &logRecorder{}
	fake, r := followFake(t, 200*time.Millisecond, rec, "127.0.0.1:1001")
	fake.set(true)
	rec.waitFor(t, "consul unreachable", 5*time.Second)
	fake.set(false)
	// The agent has nothing new to say: the resolver must look again by
	// itself when the grace ends (waitInstances wakes on Changed only).
	waitInstances(t, r, "svc", 5*time.Second)
	for _, msg := range []string{"consul answered no instance after a reconnect", "believing it"} {
		if !rec.has(msg) {
			t.Errorf("no log %q", msg)
		}
	}
}

// TestConsulResolverNoGrace: a negative EmptyGrace believes every answer.
func TestConsulResolverNoGrace(t *testing.T) {
	fake, r := followFake(t, -1, nil, "127.0.0.1:1001")
	fake.restart()
	waitInstances(t, r, "svc", 5*time.Second)
}
