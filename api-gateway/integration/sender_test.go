package integration_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// sender is a worker sending its positions 1, 2, ... on a WebSocket, one
// per tick, the next one after the last sent without error. Without redial
// it stops, as a worker does to reconnect, once it sees the connection end
// or a send fails (the WebSocket library still accepts a write after its
// reader saw the end: the bytes go to a closed socket), and leaves the
// socket open. With redial it notices a broken connection only when a send
// fails, and dials again with redial (through the gateway) to go on.
type sender struct {
	team, name string
	redial     func() (*servicetest.Worker, error)
	quit, done chan struct{}
	once       sync.Once

	mu sync.Mutex
	st sendState
}

// sendState is what a sender did so far.
type sendState struct {
	lastOK     int         // last position sent without error
	lastTried  int         // last position a send was tried for
	sentAt     []time.Time // sentAt[i]: when position i+1 was sent without error
	resumedAt  int         // first position sent on the latest new connection
	reconnects int
	errs       []string // failed sends and dials, with their time
}

func startSender(w *servicetest.Worker, team, name string, every time.Duration, redial func() (*servicetest.Worker, error)) *sender {
	s := &sender{team: team, name: name, redial: redial, quit: make(chan struct{}), done: make(chan struct{})}
	go s.run(w, every)
	return s
}

func (s *sender) run(w *servicetest.Worker, every time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	fresh := false
	for {
		select {
		case <-s.quit:
			if w != nil && s.redial != nil {
				w.Close()
			}
			return
		case <-tick.C:
		}
		if w == nil {
			nw, err := s.redial()
			if err != nil {
				s.fail("dial", err)
				continue
			}
			w, fresh = nw, true
			s.mu.Lock()
			s.st.reconnects++
			s.mu.Unlock()
		} else if s.redial == nil && isDone(w) {
			return // the worker knows: it reconnects now
		}
		s.mu.Lock()
		seq := s.st.lastOK + 1
		s.mu.Unlock()
		err := w.Send(servicetest.Rec(s.team, s.name, seq))
		s.mu.Lock()
		s.st.lastTried = seq
		if err == nil {
			s.st.lastOK = seq
			s.st.sentAt = append(s.st.sentAt, time.Now())
			if fresh {
				s.st.resumedAt, fresh = seq, false
			}
		}
		s.mu.Unlock()
		if err != nil {
			s.fail(fmt.Sprintf("send %d", seq), err)
			if s.redial == nil {
				return
			}
			w.Close()
			w = nil
		}
	}
}

func isDone(w *servicetest.Worker) bool {
	select {
	case <-w.Done():
		return true
	default:
		return false
	}
}

// fail keeps the error of what, with its time.
func (s *sender) fail(what string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.errs = append(s.st.errs, time.Now().Format("15:04:05.000")+" "+what+": "+err.Error())
}

// state returns what the sender did so far.
func (s *sender) state() sendState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.sentAt, st.errs = slices.Clone(st.sentAt), slices.Clone(st.errs)
	return st
}

// sentBefore counts the positions sent without error before t.
func (st sendState) sentBefore(t time.Time) int {
	return len(slices.DeleteFunc(slices.Clone(st.sentAt), func(at time.Time) bool { return !at.Before(t) }))
}

// waitResumed waits until the sender sends on a new connection and returns
// the first position it sent there.
func (s *sender) waitResumed(t *testing.T, timeout time.Duration) int {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("the worker's errors: %v", s.state().errs)
		}
	}()
	testsupport.Eventually(t, timeout, "the worker to send on a new connection", func() bool { return s.state().resumedAt > 0 })
	return s.state().resumedAt
}

// stop ends the sending (it is idempotent) and waits for it.
func (s *sender) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}
