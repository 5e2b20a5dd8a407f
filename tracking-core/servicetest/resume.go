package servicetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// Resume scenario sizes: the issue's "10 workers at 10 positions/s, the
// manager cut off for 5 s".
const (
	resumeWorkers  = 10
	resumeInterval = 100 * time.Millisecond
	resumeCut      = 5 * time.Second
)

// A manager's stream on B is cut while workers on A keep sending; it
// reconnects with the last id it had (Last-Event-ID on SSE, since on the
// WebSocket) and has every position of the cut, none twice, then live ones.
func (s *scenarios) resume(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	for _, c := range []struct {
		name      string
		open      func(url string) (*Stream, error)
		openAfter func(url, id string) (*Stream, error)
		url       string
		cut       time.Duration
	}{
		{"SSE", OpenSSE, OpenSSEAfter, b.URL + "/tracking/team_resume_sse", resumeCut},
		{"WebSocket", OpenManagerWS, OpenManagerWSAfter, b.WS + "/tracking/team_resume_ws/ws", resumeCut / 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			team := "team_resume_sse"
			if c.name != "SSE" {
				team = "team_resume_ws"
			}
			first := mustOpen(t, c.open, c.url)
			sent := startSenders(t, a.WS+"/tracking/ws", team, resumeWorkers, resumeInterval)
			if !first.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) >= 2*resumeWorkers }) {
				t.Fatalf("first stream: %d live positions", len(first.Records()))
			}
			first.Close()
			id := first.LastID()
			if id == "" {
				t.Fatal("the stream carried no id to resume from")
			}
			time.Sleep(c.cut) // the manager is away; the workers send on
			second, err := c.openAfter(c.url, id)
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			time.Sleep(time.Second) // a second of live positions after the resume
			last := sent.stop()
			if !second.WaitFor(s.f.Timeout, func(r []Record) bool { return Reached(Latest(r), last) }) {
				t.Fatalf("resumed stream reached %v, want %v", Latest(second.Records()), last)
			}
			if ev := second.Events(); slices.Contains(ev, "reset") {
				t.Fatalf("the resume was refused (events %v)", ev)
			}
			got := append(first.Records(), second.Records()...)
			for w, n := range last {
				if seqs := seqsOf(got, w); !slices.Equal(seqs, span(1, n)) {
					t.Fatalf("worker %s: the two streams carried %v, want 1..%d once each, in order", w, seqs, n)
				}
			}
		})
	}
	t.Run("UnknownIDResets", func(t *testing.T) {
		const team = "team_resume_reset"
		w := MustDialWorker(t, a.WS+"/tracking/ws")
		defer w.Close()
		must(t, w.Send(Rec(team, "w1", 1)))
		st := MustOpenSSE(t, b.URL+"/tracking/"+team)
		if !st.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) == 1 }) {
			t.Fatal("no position before the reset test")
		}
		st.Close()
		id := st.LastID()
		epoch, rest, _ := strings.Cut(id, "-")
		for _, bad := range []string{epoch + "x-" + rest, "not-an-id", "1-1-1"} {
			st, err := OpenSSEAfter(b.URL+"/tracking/"+team, bad)
			if err != nil {
				t.Fatal(err)
			}
			ok := st.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) == 1 })
			st.Close()
			if ev := st.Events(); !ok || len(ev) == 0 || ev[0] != "reset" {
				t.Fatalf("resume after %q: events %v, %d records; want the reset notice then the snapshot", bad, ev, len(st.Records()))
			}
		}
	})
}

func span(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// seqsOf returns the sequence numbers of worker's records in recs, in order.
func seqsOf(recs []Record, worker string) []int {
	var out []int
	for _, r := range recs {
		if w, seq := SeqOf(r); w == worker {
			out = append(out, seq)
		}
	}
	return out
}

// senders is a group of workers each sending a record every interval on its
// own WebSocket.
type senders struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	sent  map[string]int
}

func startSenders(t *testing.T, url, team string, n int, interval time.Duration) *senders {
	s := &senders{stopc: make(chan struct{}), sent: make(map[string]int)}
	for i := range n {
		w := MustDialWorker(t, url)
		worker := fmt.Sprintf("w%d", i)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer w.Close()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for seq := 1; ; seq++ {
				if err := w.Send(Rec(team, worker, seq)); err != nil {
					t.Errorf("worker %s: %v", worker, err)
					return
				}
				s.mu.Lock()
				s.sent[worker] = seq
				s.mu.Unlock()
				select {
				case <-tick.C:
				case <-s.stopc:
					return
				}
			}
		}()
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// stop stops the senders and returns the last sequence each sent.
func (s *senders) stop() map[string]int {
	select {
	case <-s.stopc:
	default:
		close(s.stopc)
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.sent)
}
