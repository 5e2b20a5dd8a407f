package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// testConsulAddr returns the real Consul agent's address from
// TEST_CONSUL_HTTP_ADDR (set by `scripts/test-services.sh up consul`). Without
// it the test is skipped, except under CI, where it fails.
func testConsulAddr(t *testing.T) string {
	t.Helper()
	return testsupport.Env(t, "TEST_CONSUL_HTTP_ADDR", "run `scripts/test-services.sh up consul` and source its env file")
}

// uniqueName returns a service name no other test (or test run) uses.
func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// readyServer is an instance's HTTP server whose /readyz answers 200 or 503.
type readyServer struct {
	*httptest.Server
	ready atomic.Bool
}

func newReadyServer(t *testing.T) *readyServer {
	t.Helper()
	s := &readyServer{}
	s.ready.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *readyServer) port(t *testing.T) int {
	t.Helper()
	return s.Listener.Addr().(*net.TCPAddr).Port
}

// waitInstances waits until r serves exactly want for svc, waking on Changed.
func waitInstances(t *testing.T, r Resolver, svc string, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ch := r.Changed()
		got := addresses(r.Instances(svc))
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("instances of %s: got %v, want %v (after %v)", svc, got, want, timeout)
		}
	}
}

// logRecorder is a slog.Handler that keeps messages so tests can wait for one.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
	next notifier
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	l.next.notify()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(sub string) bool { return l.count(sub) > 0 }

func (l *logRecorder) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

func (l *logRecorder) waitFor(t *testing.T, sub string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ch := l.next.wait()
		if l.has(sub) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no log message containing %q within %v", sub, timeout)
		}
	}
}

// runShell runs a TEST_*_CMD command line.
func runShell(t *testing.T, cmdline string) {
	t.Helper()
	out, err := exec.Command("sh", "-c", cmdline).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, out)
	}
}

// forwarder is a TCP proxy to target that can be started on a fixed address.
type forwarder struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startForwarder(t *testing.T, addr, target string) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("forwarder listen %s: %v", addr, err)
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		f.conns[c], f.conns[up] = true, true
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(c, up)
		go f.pipe(up, c)
	}
}

func (f *forwarder) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
