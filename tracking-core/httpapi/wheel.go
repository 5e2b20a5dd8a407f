package httpapi

import (
	"sync"
	"time"
)

// wheel is a hashed timing wheel shared by the manager streams and the
// worker connections of an API: the streams' heartbeats and lifetimes and
// the workers' lifespans are due on it, rather than on runtime timers (two
// and a channel for each stream, one for each worker). An entry costs three words in its
// owner; the wheel's goroutine runs only while it holds entries, waking
// once per tick.
//
// Times are in ticks: an entry fires on the tick after the one its due
// time falls in, so up to two ticks late, never early.
type wheel struct {
	tick  time.Duration
	mu    sync.Mutex
	slots []wheelEntry // sentinels of circular lists, one per slot
	now   int64        // ticks since start, the last one handled
	start time.Time
	n     int  // entries held
	on    bool // the goroutine runs
}

// wheelEntry is a place on the wheel, embedded in its owner.
type wheelEntry struct {
	next, prev *wheelEntry
	due        int64
	owner      wheelOwner
}

// wheelOwner is told, from the wheel's goroutine and without its lock
// held, that its entry came due (the entry is off the wheel then). It
// must not block.
type wheelOwner interface{ due() }

const wheelSlots = 512

func newWheel(tick time.Duration) *wheel {
	w := &wheel{tick: max(tick, time.Millisecond), slots: make([]wheelEntry, wheelSlots)}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	return w
}

// ticks is d in whole ticks, at least one.
func (w *wheel) ticks(d time.Duration) int64 { return max(int64((d+w.tick-1)/w.tick), 1) }

// after puts e on the wheel, due d from now (rounded up to a whole tick),
// moving it if it was on already.
func (w *wheel) after(e *wheelEntry, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.next != nil {
		w.unlink(e)
	}
	if !w.on {
		// The wheel stood still, empty: its clock restarts from here.
		w.on = true
		w.start = time.Now()
		w.now = 0
		go w.run()
	}
	// w.now may be up to a tick behind the clock: one more is never early.
	e.due = w.now + w.ticks(d) + 1
	s := &w.slots[e.due%wheelSlots]
	e.prev, e.next = s.prev, s
	s.prev.next = e
	s.prev = e
	w.n++
}

// remove takes e off the wheel, if it is on.
func (w *wheel) remove(e *wheelEntry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.next != nil {
		w.unlink(e)
	}
}

func (w *wheel) unlink(e *wheelEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.next, e.prev = nil, nil
	w.n--
}

// run turns the wheel until it is empty.
func (w *wheel) run() {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	var due []*wheelEntry
	for range t.C {
		w.mu.Lock()
		// Ticks the ticker dropped (a busy machine) are caught up.
		until := int64(time.Since(w.start) / w.tick)
		for ; w.now < until; w.now++ {
			s := &w.slots[(w.now+1)%wheelSlots]
			for e := s.next; e != s; {
				next := e.next
				if e.due <= w.now+1 {
					w.unlink(e)
					due = append(due, e)
				}
				e = next
			}
		}
		stop := w.n == 0 && len(due) == 0
		if stop {
			w.on = false
		}
		w.mu.Unlock()
		if stop {
			return
		}
		for i, e := range due {
			e.owner.due()
			due[i] = nil
		}
		due = due[:0]
	}
}
