package integration_test

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teamtrack/team-tracking-view/browsertest"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
)

// The resume issue's acceptance test: "A manager's SSE connection is cut
// for 5 s while 10 workers send 10 positions/s; on reconnect with
// Last-Event-ID it has every position of those 5 s, none twice".
const (
	browserResumeWorkers = 10
	browserResumeEvery   = 100 * time.Millisecond
	browserResumeCut     = 5 * time.Second
)

// TestBrowserResumesThroughGateway runs the acceptance test with the
// browser's own EventSource as the manager, for each strategy, through the
// gateway: two replicas of the strategy in Consul, ten worker WebSockets
// through the gateway (least connections spreads them over both, so the
// broker carries positions between replicas), and in headless Chromium a
// plain EventSource on the team, reaching the gateway through a TCP proxy
// that the test cuts for 5 s. The browser reconnects by itself, with the
// Last-Event-ID it had, and must end with every worker's positions 1..N,
// each once, in order. Then an EventSource that starts with an id that
// cannot be resumed from (since=) gets the reset event, then the snapshot.
// It needs headless Chromium besides the servers (scripts/test-services.sh
// up ... chromium); without it, it skips (fails when CI is set).
func TestBrowserResumesThroughGateway(t *testing.T) {
	svc := needServices(t)
	browsertest.RequireChromium(t)
	for _, strategy := range []string{"redis", "kafka"} {
		t.Run(strategy, func(t *testing.T) { checkBrowserResume(t, svc, strategy) })
	}
}

func checkBrowserResume(t *testing.T, svc services, strategy string) {
	nRedis, nKafka := 2, 0
	if strategy == "kafka" {
		nRedis, nKafka = 0, 2
	}
	c := startCluster(t, svc, nRedis, nKafka, nil)
	reps := c.replicas[strategy]
	team := "gwit-" + c.id + "-resume-" + strategy
	streamPath := "/tracking/" + strategy + "/" + team

	proxy := startCutProxy(t, c.gw.addr)
	page := browsertest.NewPage(t)
	// A page of the proxy's origin (what the gateway answers at /healthz,
	// not the view, which would open streams of its own): the EventSource
	// is same-origin, no CORS in the way.
	if err := chromedp.Do(page, chromedp.Navigate(proxy.url()+"/healthz")); err != nil {
		t.Fatalf("open %s/healthz in the browser: %v", proxy.url(), err)
	}
	es := openPageStream(t, page, "manager", proxy.url()+streamPath)
	// Open: the replica answered, so it subscribed to the team before.
	es.waitFor(t, 15*time.Second, "the EventSource to open", func() bool { return es.opens() == 1 })

	senders := make([]*sender, browserResumeWorkers)
	workers := make([]*servicetest.Worker, browserResumeWorkers)
	for i := range senders {
		w, err := servicetest.DialWorker(c.gwWS(strategy) + "/ws")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		workers[i] = w
		senders[i] = startSender(w, team, fmt.Sprintf("w%d", i), browserResumeEvery, nil)
		t.Cleanup(senders[i].stop) // before w.Close
	}
	sent := func() map[string]int {
		out := map[string]int{}
		for _, s := range senders {
			out[s.name] = s.state().lastOK
		}
		return out
	}

	// A second of live positions, then the cut.
	ten := map[string]int{}
	for _, s := range senders {
		ten[s.name] = 10
	}
	es.waitFor(t, 15*time.Second, "a second of every worker's positions", func() bool {
		return servicetest.Reached(es.latest(), ten)
	})
	cutAt := time.Now()
	proxy.cutNow()
	time.Sleep(browserResumeCut) // the outage itself; the workers send on
	proxy.restore()
	restoredAt := time.Now()
	es.waitFor(t, 15*time.Second, "the EventSource to reconnect by itself", func() bool { return es.opens() == 2 })
	reconnected, atReconnect := time.Now(), sent()
	es.waitFor(t, 15*time.Second, "a second of live positions after the reconnection", func() bool {
		return servicetest.Reached(es.latest(), plus(atReconnect, 10))
	})
	for _, s := range senders {
		s.stop()
	}
	last := sent()
	for i, s := range senders {
		if st := s.state(); len(st.errs) > 0 {
			t.Fatalf("worker %s: %v", s.name, st.errs)
		}
		if a := workers[i].Refusals(); len(a) > 0 {
			t.Fatalf("worker %s got answers %v, want none for good records", s.name, a)
		}
	}
	es.waitFor(t, 15*time.Second, fmt.Sprintf("every worker's last position %v", last), func() bool {
		return servicetest.Reached(es.latest(), last)
	})
	es.close(t)

	// Every position once, in order, those of the cut included.
	recs := es.records(t)
	for w, n := range last {
		if seqs := seqsOf(recs, w); !slices.Equal(seqs, span(1, n)) {
			t.Errorf("worker %s: the page got %v, want 1..%d once each, in order", w, seqs, n)
		}
	}
	if n := len(recs); n != total(last) {
		t.Errorf("the page got %d positions, want %d", n, total(last))
	}
	// One connection lost, failed tries, one made again: no reset, no
	// other event, and no position between the loss and the reconnection.
	kinds := checkConnectionEvents(t, es)
	lastBefore := checkIDs(t, es)

	// The browser asked again, by itself, with the id it had.
	refused := checkReconnectRequests(t, proxy.requests(), streamPath, lastBefore, cutAt, restoredAt)
	if n := len(es.ofType("error")); n != 1+refused {
		t.Errorf("the page had %d error events, want %d: one for the lost connection and one per try the proxy refused", n, 1+refused)
	}

	// The replica resumed the stream rather than resetting it, and both
	// replicas took worker positions.
	var resumed, resets, replayed float64
	for _, p := range reps {
		resumed += p.metric(t, "tracking_hub_resumes_total", map[string]string{"outcome": "resumed"})
		resets += p.metric(t, "tracking_hub_resumes_total", map[string]string{"outcome": "reset"})
		replayed += p.metric(t, "tracking_hub_resumed_positions_total", nil)
		if n := p.metric(t, "tracking_records_total", map[string]string{"result": "accepted"}); n == 0 {
			t.Errorf("replica %s accepted no record: the workers were not spread", p.addr)
		}
	}
	if resumed != 1 || resets != 0 || replayed == 0 {
		t.Errorf("replicas counted %v resumed streams, %v resets, %v replayed positions; want 1 resume that replayed the cut's positions, no reset", resumed, resets, replayed)
	}
	t.Logf("%s: %d positions of %d workers; cut for %v; the browser reconnected %v after the cut ended; %v positions replayed on resume; page events other than positions: %v",
		strategy, total(last), len(last), restoredAt.Sub(cutAt).Round(time.Millisecond),
		reconnected.Sub(restoredAt).Round(100*time.Millisecond), replayed, kinds)
	if t.Failed() {
		return
	}

	// An id that cannot be resumed from: the reset event, then the snapshot.
	epoch, rest, _ := strings.Cut(lastBefore, "-")
	for i, since := range []string{"garbage", epoch + "x-" + rest} {
		rs := openPageStream(t, page, fmt.Sprintf("reset-%d", i), proxy.url()+streamPath+"?since="+url.QueryEscape(since))
		rs.waitFor(t, 15*time.Second, "the snapshot", func() bool { return servicetest.Reached(rs.latest(), last) })
		rs.close(t)
		var got []string
		for _, e := range rs.events {
			switch e.Type {
			case "open":
			case "message":
				got = append(got, "position")
			default:
				got = append(got, e.Type)
			}
		}
		want := append([]string{"reset"}, slices.Repeat([]string{"position"}, len(last))...)
		if !slices.Equal(got, want) {
			t.Errorf("since=%s: events %v, want reset then one position per worker", since, got)
		}
		if r := rs.ofType("reset"); len(r) > 0 && !strings.Contains(r[0].Data, wire.ResetGap) {
			t.Errorf("since=%s: reset data %q, want the reason %q", since, r[0].Data, wire.ResetGap)
		}
		if l := rs.latest(); !maps.Equal(l, last) {
			t.Errorf("since=%s: snapshot %v, want %v", since, l, last)
		}
		t.Logf("since=%s: events %v", since, got)
	}
}

// checkConnectionEvents checks that the page's events other than positions
// are: open, error (the lost connection), error per failed try, open; and
// that no position came between the first error and the second open. It
// returns those events, as type@connection.
func checkConnectionEvents(t *testing.T, s *pageStream) []string {
	t.Helper()
	var kinds []string
	var got []string // the same, with runs of errors as one "error"
	for _, e := range s.events {
		if e.Type == "message" {
			if len(got) > 0 && got[len(got)-1] == "error" {
				t.Errorf("a position came after the connection was lost and before the reconnection (events so far %v)", kinds)
			}
			continue
		}
		kinds = append(kinds, fmt.Sprintf("%s@%d", e.Type, e.Conn))
		if e.Type != "error" || len(got) == 0 || got[len(got)-1] != "error" {
			got = append(got, e.Type)
		}
	}
	if !slices.Equal(got, []string{"open", "error", "open"}) || len(s.ofType("error")) < 2 {
		t.Errorf("events other than positions: %v; want open, error (the lost connection), an error per failed try (at least one), open", kinds)
	}
	return kinds
}

// checkIDs checks that every position carried a stream id, each later than
// the one before (in one epoch: the broker kept its data), and returns the
// last id of the first connection.
func checkIDs(t *testing.T, s *pageStream) (lastBefore string) {
	t.Helper()
	var prev tracking.Offset
	for i, e := range s.ofType("message") {
		off, err := tracking.ParseOffset(e.LastEventID)
		if err != nil {
			t.Fatalf("position %d (connection %d) has the id %q: %v", i, e.Conn, e.LastEventID, err)
		}
		if i > 0 && !off.After(prev) {
			t.Fatalf("position %d (connection %d) has the id %s, not after %s", i, e.Conn, off, prev)
		}
		prev = off
		if e.Conn == 1 {
			lastBefore = e.LastEventID
		}
	}
	if lastBefore == "" {
		t.Fatal("no position on the first connection")
	}
	return lastBefore
}

// checkReconnectRequests checks the stream requests the proxy saw: the
// first, before the cut, without Last-Event-ID; then at least one try
// during the cut, refused; then one, forwarded, after it; every try with
// Last-Event-ID lastBefore, the id of the last position the page had. It
// returns the number of tries refused.
func checkReconnectRequests(t *testing.T, reqs []proxiedRequest, path, lastBefore string, cutAt, restoredAt time.Time) (refused int) {
	t.Helper()
	var stream []proxiedRequest
	for _, r := range reqs {
		if r.URI == path {
			stream = append(stream, r)
		}
	}
	var desc []string
	for _, r := range stream {
		desc = append(desc, fmt.Sprintf("{cut%+v refused=%v Last-Event-ID=%q}", r.At.Sub(cutAt).Round(time.Millisecond), r.Refused, r.LastEventID))
	}
	t.Logf("stream requests through the proxy: %s", strings.Join(desc, " "))
	if len(stream) < 3 {
		t.Fatalf("%d stream requests through the proxy; want the first, at least one refused during the cut, and the reconnection", len(stream))
	}
	if first := stream[0]; first.Refused || first.LastEventID != "" || first.At.After(cutAt) {
		t.Errorf("the first stream request is not one before the cut without Last-Event-ID")
	}
	for _, r := range stream[1 : len(stream)-1] {
		refused++
		if !r.Refused || r.At.Before(cutAt) {
			t.Errorf("a stream request forwarded between the first and the last (%v after the cut)", r.At.Sub(cutAt))
		}
	}
	if last := stream[len(stream)-1]; last.Refused || last.At.Before(restoredAt) {
		t.Errorf("the last stream request is not the one forwarded after the cut")
	}
	for _, r := range stream[1:] {
		if r.LastEventID != lastBefore {
			t.Errorf("a stream request %v after the cut has Last-Event-ID %q, want %q (the id of the page's last position)", r.At.Sub(cutAt), r.LastEventID, lastBefore)
		}
	}
	return refused
}

// plus adds n to every value of m.
func plus(m map[string]int, n int) map[string]int {
	out := maps.Clone(m)
	for w := range out {
		out[w] += n
	}
	return out
}

func seqsOf(recs []servicetest.Record, worker string) []int {
	var out []int
	for _, r := range recs {
		if w, seq := servicetest.SeqOf(r); w == worker {
			out = append(out, seq)
		}
	}
	return out
}

func span(from, to int) []int {
	out := make([]int, 0, max(0, to-from+1))
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
