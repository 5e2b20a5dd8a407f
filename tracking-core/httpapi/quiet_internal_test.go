package httpapi

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/teamtrack/tracking-core/testsupport"
)

func testQuiet(max int32, handle func(*quietJob) bool) *quietHandlers {
	return &quietHandlers{jobs: make(chan *quietJob), max: max, handle: handle,
		panicked: func(any) {},
		handlers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "h"}),
		handed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		inline:   prometheus.NewCounter(prometheus.CounterOpts{Name: "i"})}
}

// onHandler says whether the calling goroutine is a quiet handler.
func onHandler() bool {
	buf := make([]byte, 8<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*quietHandlers).handler(")
}

func newJob() *quietJob { return &quietJob{done: make(chan bool, 1)} }

// A quiet connection's messages are handled on a handler, not on the
// connection's goroutine, and a waiting handler takes the next one.
func TestQuietMessagesRunOnAHandler(t *testing.T) {
	var where []bool
	q := testQuiet(4, func(*quietJob) bool { where = append(where, onHandler()); return true })
	defer q.join()()
	j := newJob()
	for range 3 {
		if !q.run(j) {
			t.Fatal("run reported the connection ended")
		}
	}
	for i, h := range where {
		if !h {
			t.Fatalf("message %d handled on the connection's goroutine", i)
		}
	}
	if n := q.n.Load(); n != 1 {
		t.Fatalf("%d handlers for one connection's messages, want the one reused", n)
	}
	if got := testutil.ToFloat64(q.handed); got != 3 {
		t.Fatalf("handed counted %v, want 3", got)
	}
}

// With every handler busy and no more allowed, the connection handles its
// message itself rather than wait for another's.
func TestQuietMessageNeverWaitsForABusyHandler(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var inline atomic.Bool
	q := testQuiet(1, func(j *quietJob) bool {
		if j.in == nil { // the first job: blocks, as a publish to a stalled broker would
			close(entered)
			<-release
			return true
		}
		inline.Store(!onHandler())
		return true
	})
	defer q.join()()
	first := newJob()
	ran := make(chan bool)
	go func() { ran <- q.run(first) }()
	<-entered
	second := &quietJob{in: &ingestor{}, done: make(chan bool, 1)}
	done := make(chan bool)
	go func() { done <- q.run(second) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a message waited for a busy handler")
	}
	if !inline.Load() {
		t.Fatal("the second message did not run on its connection's goroutine")
	}
	if got := testutil.ToFloat64(q.inline); got != 1 {
		t.Fatalf("inline counted %v, want 1", got)
	}
	close(release)
	if !<-ran {
		t.Fatal("the first message's answer was lost")
	}
}

// Handlers end once no connection is left, and a panic ends the message's
// connection but not the handler.
func TestQuietHandlersEndWithTheLastConnection(t *testing.T) {
	var panicked atomic.Int32
	q := testQuiet(4, func(j *quietJob) bool {
		if j.in != nil {
			panic("handler test")
		}
		return true
	})
	q.panicked = func(any) { panicked.Add(1) }
	leave := q.join()
	if q.run(&quietJob{in: &ingestor{}, done: make(chan bool, 1)}) {
		t.Fatal("a message whose handling panicked let its connection go on")
	}
	if panicked.Load() != 1 {
		t.Fatal("the panic was not reported")
	}
	if !q.run(newJob()) || q.n.Load() != 1 {
		t.Fatalf("after a panic: %d handlers, want the one that recovered", q.n.Load())
	}
	leave()
	testsupport.Eventually(t, 5*time.Second, "the handler to end with the last connection", func() bool { return q.n.Load() == 0 })
	if got := testutil.ToFloat64(q.handlers); got != 0 {
		t.Fatalf("handlers gauge %v after they ended", got)
	}
	// A connection after that starts a handler anew.
	defer q.join()()
	if !q.run(newJob()) || q.n.Load() != 1 {
		t.Fatalf("%d handlers after a new connection's message, want 1", q.n.Load())
	}
}
