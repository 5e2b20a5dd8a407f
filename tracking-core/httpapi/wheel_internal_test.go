package httpapi

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type wheelProbe struct {
	e     wheelEntry
	fired chan time.Time
	n     atomic.Int32
}

func (p *wheelProbe) due() {
	p.n.Add(1)
	p.fired <- time.Now()
}

func newProbe() *wheelProbe {
	p := &wheelProbe{fired: make(chan time.Time, 8)}
	p.e.owner = p
	return p
}

// The wheel fires an entry once, never before its time; a removed or
// moved entry does not fire at its old time; the goroutine stops once
// the wheel is empty and starts again with the next entry.
func TestWheelFiresOnceNeverEarly(t *testing.T) {
	w := newWheel(5 * time.Millisecond)
	early, late, gone := newProbe(), newProbe(), newProbe()
	start := time.Now()
	w.after(&early.e, 20*time.Millisecond)
	w.after(&late.e, 20*time.Millisecond)
	w.after(&late.e, 60*time.Millisecond) // moved
	w.after(&gone.e, 20*time.Millisecond)
	w.remove(&gone.e)
	// Far past one turn of the wheel (512 slots of 5 ms): it goes round.
	far := newProbe()
	w.after(&far.e, 3*time.Second)

	at := <-early.fired
	if d := at.Sub(start); d < 20*time.Millisecond {
		t.Errorf("fired after %v, want at least 20ms", d)
	}
	at = <-late.fired
	if d := at.Sub(start); d < 60*time.Millisecond {
		t.Errorf("moved entry fired after %v, want at least 60ms", d)
	}
	at = <-far.fired
	if d := at.Sub(start); d < 3*time.Second {
		t.Errorf("entry past a turn fired after %v, want at least 3s", d)
	}
	select {
	case <-gone.fired:
		t.Error("a removed entry fired")
	case <-time.After(50 * time.Millisecond):
	}
	for _, p := range []*wheelProbe{early, late, far} {
		if n := p.n.Load(); n != 1 {
			t.Errorf("fired %d times, want once", n)
		}
	}
	waitNoWheel(t)

	again := newProbe()
	w.after(&again.e, 10*time.Millisecond)
	<-again.fired
	waitNoWheel(t)
}

// waitNoWheel waits for the wheel's goroutine to stop.
func waitNoWheel(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		if !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*wheel).run") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the wheel's goroutine still runs with no entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
