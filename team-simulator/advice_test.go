package simulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
)

// fakeServer is a worker endpoint that pushes the test's frames to every
// WebSocket and records what workers send: records (counted) and replies.
// Its POST endpoint reads one record and answers with summary, ending the
// body: the worker comes back with a new POST.
type fakeServer struct {
	URL     string
	summary string

	mu      sync.Mutex
	conns   []*websocket.Conn
	records int
	replies []wire.WorkerReply
}

func startFake(t *testing.T, summary string) *fakeServer {
	f := &fakeServer{summary: summary}
	mux := http.NewServeMux()
	ctx, cancel := context.WithCancel(context.Background())
	mux.HandleFunc("GET /tracking/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			f.mu.Lock()
			if rep, ok := wire.DecodeWorkerReply(msg); ok {
				f.replies = append(f.replies, rep)
			} else {
				f.records++
			}
			f.mu.Unlock()
		}
	})
	mux.HandleFunc("POST /tracking/{$}", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1)
		for { // one record: up to its newline
			if _, err := r.Body.Read(buf); err != nil || buf[0] == '\n' {
				break
			}
		}
		f.mu.Lock()
		f.records++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, f.summary)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { cancel(); srv.Close() })
	f.URL = srv.URL + "/tracking/"
	return f
}

// push sends frame to every WebSocket connected so far.
func (f *fakeServer) push(t *testing.T, frame string) {
	t.Helper()
	f.mu.Lock()
	conns := append([]*websocket.Conn(nil), f.conns...)
	f.mu.Unlock()
	if len(conns) == 0 {
		t.Fatal("no connection to push to")
	}
	for _, c := range conns {
		if err := c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fakeServer) recordCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.records
}

func (f *fakeServer) repliesOf(typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range f.replies {
		if r.Type == typ {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func (f *fakeServer) connected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// intervalsOf is the interval distribution as a map.
func intervalsOf(s Stats) map[string]int64 { return s.Intervals.Map() }

// rateOver counts the records f gets over d.
func rateOver(f *fakeServer, d time.Duration) int {
	before := f.recordCount()
	time.Sleep(d) // a measurement window
	return f.recordCount() - before
}

// A config message switches WebSocket workers to the advised interval (the
// rate drops), a later one back; the distribution follows.
func TestWorkersTakeAdvice(t *testing.T) {
	f := startFake(t, "")
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "t", Workers: 2, Interval: 20 * time.Millisecond, URL: f.URL}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "connections", func() bool { return f.connected() == 2 && f.recordCount() > 4 })
	if got := intervalsOf(sim.Stats()); got["20ms"] != 2 || len(got) != 1 {
		t.Fatalf("intervals before advice %v", got)
	}
	fast := rateOver(f, 400*time.Millisecond)
	f.push(t, `{"type":"config","interval":"200ms"}`)
	testsupport.Eventually(t, 5*time.Second, "advice taken", func() bool { return intervalsOf(sim.Stats())["200ms"] == 2 })
	slow := rateOver(f, 400*time.Millisecond)
	// 2 workers: ~40 records in 400ms at 20ms, ~4 at 200ms.
	if fast < 12 || slow > 8 {
		t.Fatalf("records in 400ms: %d before advice, %d after", fast, slow)
	}
	f.push(t, `{"type":"config","interval":"20ms"}`)
	testsupport.Eventually(t, 5*time.Second, "advice back", func() bool { return intervalsOf(sim.Stats())["20ms"] == 2 })
	stop()
	if st := sim.Stats(); st.Advice != 4 || st.BadAdvice != 0 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// With IgnoreAdvice the advice is counted and the interval kept.
func TestWorkersIgnoreAdvice(t *testing.T) {
	f := startFake(t, "")
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "t", Workers: 1, Interval: 20 * time.Millisecond, URL: f.URL}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(), IgnoreAdvice: true,
	})
	testsupport.Eventually(t, 10*time.Second, "connection", func() bool { return f.connected() == 1 })
	f.push(t, `{"type":"config","interval":"1s"}`)
	testsupport.Eventually(t, 5*time.Second, "advice counted", func() bool { return sim.Stats().Advice == 1 })
	if n := rateOver(f, 300*time.Millisecond); n < 4 {
		t.Fatalf("%d records in 300ms at 20ms: the advice was not ignored", n)
	}
	stop()
	if got := intervalsOf(sim.Stats()); got["20ms"] != 1 || len(got) != 1 {
		t.Fatalf("intervals %v", got)
	}
}

// An interval that is not a usable duration is counted as an error and
// changes nothing.
func TestWorkersBadAdvice(t *testing.T) {
	f := startFake(t, "")
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "t", Workers: 1, Interval: 20 * time.Millisecond, URL: f.URL}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "connection", func() bool { return f.connected() == 1 })
	for _, bad := range []string{"soon", "", "-1s", "0s", "1ns", "48h"} {
		b, _ := json.Marshal(map[string]string{"type": "config", "interval": bad})
		f.push(t, string(b))
	}
	testsupport.Eventually(t, 5*time.Second, "bad advice counted", func() bool { return sim.Stats().BadAdvice == 6 })
	stop()
	st := sim.Stats()
	if st.Errors != 6 || st.Advice != 6 || st.LastError == "" || st.Reconnects != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := intervalsOf(st); got["20ms"] != 1 || len(got) != 1 {
		t.Fatalf("intervals %v", got)
	}
}

// A dispatch message is acked at once, again when delivered again, and
// read after ReadAfter.
func TestWorkersAckMessages(t *testing.T) {
	f := startFake(t, "")
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "t", Workers: 1, Interval: 20 * time.Millisecond, URL: f.URL}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(), ReadAfter: 50 * time.Millisecond,
	})
	testsupport.Eventually(t, 10*time.Second, "connection", func() bool { return f.connected() == 1 })
	f.push(t, `{"type":"message","id":"m_1","body":{"text":"go"},"sentAt":"2026-01-01T00:00:00.000Z","expiresAt":"2026-01-01T01:00:00.000Z"}`)
	f.push(t, `{"type":"message","id":"m_2","body":{},"sentAt":"2026-01-01T00:00:00.000Z","expiresAt":"2026-01-01T01:00:00.000Z"}`)
	f.push(t, `{"type":"message","id":"m_1","body":{"text":"go"},"sentAt":"2026-01-01T00:00:00.000Z","expiresAt":"2026-01-01T01:00:00.000Z"}`)
	testsupport.Eventually(t, 5*time.Second, "acks", func() bool { return len(f.repliesOf(wire.TypeAck)) == 3 })
	if got := f.repliesOf(wire.TypeAck); got[0] != "m_1" || got[1] != "m_2" || got[2] != "m_1" {
		t.Fatalf("acks %v", got)
	}
	testsupport.Eventually(t, 5*time.Second, "read receipts", func() bool { return len(f.repliesOf(wire.TypeRead)) == 3 })
	stop()
	if st := sim.Stats(); st.Messages != 3 || st.Acks != 3 || st.Reads != 3 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A POST worker takes the interval of its POST's summary for the next POST.
func TestPostWorkersTakeSummaryAdvice(t *testing.T) {
	f := startFake(t, `{"accepted":1,"rejected":0,"errors":[],"config":{"interval":"300ms"}}`)
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "t", Workers: 1, Interval: 20 * time.Millisecond, URL: f.URL, Transport: TransportNDJSON}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "advice from a summary", func() bool { return intervalsOf(sim.Stats())["300ms"] == 1 })
	// One record per POST at 300ms: ~2 in 600ms (plus reconnect hint delays).
	if n := rateOver(f, 600*time.Millisecond); n > 5 {
		t.Fatalf("%d records in 600ms at 300ms", n)
	}
	stop()
	if st := sim.Stats(); st.Advice < 1 || st.BadAdvice != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A long reporting interval walks in steps of the configured one: the
// position reported is where a worker reporting at the base cadence would be.
func TestMoveInBaseSteps(t *testing.T) {
	m := Movement{}.withDefaults()
	a, b := newWalker(m, 7, 0), newWalker(m, 7, 0)
	w := &worker{interval: 500 * time.Millisecond, walk: a}
	w.move(30 * time.Second)
	for range 60 {
		b.step(0.5)
	}
	if a.pos != b.pos {
		t.Fatalf("30s in one move: %v, in 60 steps of 500ms: %v", a.pos, b.pos)
	}
	w.move(1200 * time.Millisecond) // 500, 500, 200
	b.step(0.5)
	b.step(0.5)
	b.step(0.2)
	if a.pos != b.pos {
		t.Fatalf("1.2s: %v, want %v", a.pos, b.pos)
	}
}
