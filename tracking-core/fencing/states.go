package fencing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// saver writes workers' states to the broker's StateStore off the ingest
// path: one goroutine, the newest state per worker (a state waiting is
// replaced by a newer one), each worker's saves in the order made.
type saver struct {
	store   tracking.StateStore
	timeout time.Duration
	log     *slog.Logger
	m       *metrics

	mu      sync.Mutex
	pending map[key][]byte
	order   []key
	closing bool

	wake    chan struct{}
	done    chan struct{}
	errLog  rateLimited
	closeMu sync.Once
}

func newSaver(store tracking.StateStore, timeout time.Duration, log *slog.Logger, m *metrics) *saver {
	s := &saver{store: store, timeout: timeout, log: log, m: m, pending: make(map[key][]byte),
		wake: make(chan struct{}, 1), done: make(chan struct{}), errLog: rateLimited{every: 10 * time.Second}}
	go s.run()
	return s
}

// save queues state as k's and returns at once.
func (s *saver) save(k key, state []byte) {
	s.mu.Lock()
	if _, ok := s.pending[k]; !ok {
		s.order = append(s.order, k)
	}
	s.pending[k] = state
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close saves what waits (each save bounded by the timeout) and stops.
func (s *saver) close() {
	s.closeMu.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
		<-s.done
	})
}

func (s *saver) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		if len(s.order) == 0 {
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return
			}
			<-s.wake
			continue
		}
		k := s.order[0]
		s.order = s.order[1:]
		state := s.pending[k]
		delete(s.pending, k)
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		err := s.store.SaveState(ctx, k.team, k.worker, state)
		cancel()
		if err != nil {
			// Not retried: the next change saves again, and until then a
			// replica taking the worker over may report a transition twice.
			s.m.stateSaves.WithLabelValues("error").Inc()
			if ok, suppressed := s.errLog.allow(); ok {
				s.log.Warn("geofence: saving a worker's state failed", "team", k.team, "worker", k.worker, "err", err,
					"similar_messages_suppressed", suppressed)
			}
			continue
		}
		s.m.stateSaves.WithLabelValues("ok").Inc()
	}
}
