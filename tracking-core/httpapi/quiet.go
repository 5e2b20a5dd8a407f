package httpapi

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// quietHandlers handle the messages of quiet worker connections (see
// serveWorkerWS) on goroutines of their own, a few for the replica, so
// that a connection's goroutine never runs the message's deep frames
// (the websocket library's reader, decoding, validation, publishing): it
// only waits, on the 2 KB stack it started with, and the runtime never
// needs to grow it. A goroutine whose stack grew to 4 KB keeps it for
// good (the runtime halves a stack only when less than a quarter of it
// is in use, its guard included), so one position would otherwise double
// the stack of every worker connection that ever sent one.
//
// A message is handed over only to a handler that is waiting for one;
// when all are busy (a publish waiting for the broker, a write for a slow
// client) and no more may start, the connection handles it itself, as a
// busy connection does: no connection waits for another's message.
//
// Handlers end after quietLinger without a message, and all of them once
// no worker connection is left.
type quietHandlers struct {
	jobs chan *quietJob // unbuffered: a send finds a handler waiting
	n    atomic.Int32   // handlers running
	max  int32

	handle   func(*quietJob) bool // a job's message: workerMessage
	panicked func(v any)          // told of a panic of handle

	handlers prometheus.Gauge   // running
	handed   prometheus.Counter // messages handled by a handler
	inline   prometheus.Counter // by the connection, no handler free

	mu    sync.Mutex
	conns int           // worker connections served
	gone  chan struct{} // closed when conns falls to 0, made anew when it rises
}

// join counts a worker connection until the returned func.
func (q *quietHandlers) join() (leave func()) {
	q.mu.Lock()
	if q.conns == 0 {
		q.gone = make(chan struct{})
	}
	q.conns++
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		if q.conns--; q.conns == 0 {
			close(q.gone)
		}
		q.mu.Unlock()
	}
}

// quietJob is a quiet connection's message to handle, made at its first.
type quietJob struct {
	ws   *wsWriter
	in   *ingestor
	done chan bool // handle's answer
}

// quietLinger is how long a handler waits for a message before it ends.
const quietLinger = 10 * time.Second

func (a *API) newQuietHandlers() *quietHandlers {
	return &quietHandlers{jobs: make(chan *quietJob), max: int32(4 * runtime.GOMAXPROCS(0)),
		handle:   func(j *quietJob) bool { return a.workerMessage(j.ws, j.in) },
		panicked: func(v any) { a.logPanic("worker_ws", v) },
		handlers: a.m.quietHandlers, handed: a.m.quietHanded, inline: a.m.quietInline}
}

// run has j's next message handled and reports whether the connection
// goes on (handle's answer).
func (q *quietHandlers) run(j *quietJob) bool {
	select {
	case q.jobs <- j:
		q.handed.Inc()
		return <-j.done
	default:
	}
	if q.n.Add(1) <= q.max {
		q.handlers.Inc()
		q.handed.Inc()
		go q.handler(j)
		return <-j.done
	}
	q.n.Add(-1)
	q.inline.Inc()
	return q.handle(j)
}

// handler handles j, then every job handed to it, until none has come
// for quietLinger or no connection is left.
func (q *quietHandlers) handler(j *quietJob) {
	q.mu.Lock()
	gone := q.gone // j's connection is counted: open
	q.mu.Unlock()
	defer func() {
		q.n.Add(-1)
		q.handlers.Dec()
	}()
	idle := time.NewTimer(quietLinger)
	defer idle.Stop()
	for {
		q.answer(j)
		idle.Reset(quietLinger)
		select {
		case j = <-q.jobs:
		case <-idle.C:
			return
		case <-gone:
			return
		}
	}
}

// answer handles j's message and answers it, also when handling it
// panics (the connection then ends, as its own goroutine's would).
func (q *quietHandlers) answer(j *quietJob) {
	ok := false
	defer func() {
		if v := recover(); v != nil {
			q.panicked(v)
		}
		j.done <- ok
	}()
	ok = q.handle(j)
}
