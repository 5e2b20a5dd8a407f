package servicetest

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/httpapi"
)

// Features says how to drive the strategy under test.
type Features struct {
	// RestartBroker stops and starts the broker on the same address; nil skips
	// the restart scenario.
	RestartBroker func(t *testing.T)
	// Timeout bounds each wait for deliveries. Default 15s.
	Timeout time.Duration
}

// Run runs every end-to-end scenario against the strategy.
func Run(t *testing.T, f Features, setup broadcasttest.Setup) {
	if f.Timeout <= 0 {
		f.Timeout = 15 * time.Second
	}
	s := &scenarios{f: f, setup: setup}
	t.Run("WorkersOnAManagersOnB", s.twoReplicas)
	t.Run("LateManagerGetsSnapshot", s.lateManager)
	t.Run("SlowManagerDoesNotDelayOthers", s.slowManager)
	t.Run("BadInputs", s.badInputs)
	t.Run("FloodingWorkerIsRateLimited", s.flood)
	t.Run("ShutdownSendsReconnect", s.shutdown)
	if f.RestartBroker != nil {
		t.Run("StreamResumesAfterBrokerRestart", s.restart)
	}
}

type scenarios struct {
	f     Features
	setup broadcasttest.Setup
}

// pair starts replicas A and B on one backend namespace. Scenarios send
// faster than a worker would: unless api sets a rate, there is none.
func (s *scenarios) pair(t *testing.T, api httpapi.Config) (a, b *Replica) {
	if api.RecordsPerSecond == 0 {
		api.RecordsPerSecond = -1
	}
	newB := s.setup(t)
	return StartReplica(t, newB(), api), StartReplica(t, newB(), api)
}

// Rec returns a canonical record of worker in team with sequence seq in its
// id ("worker.seq"), stamped now.
func Rec(team, worker string, seq int) []byte {
	p := tracking.Position{
		ID: fmt.Sprintf("%s.%d", worker, seq), WorkerID: worker, Team: team,
		Location:  tracking.Location{Latitude: -23.55 + float64(seq%1000)/10000, Longitude: -46.63},
		TimeStamp: time.Now().UTC(),
	}
	return p.AppendJSON(nil)
}

// SeqOf returns the worker of a record made by Rec and the sequence number
// at the end of its id.
func SeqOf(r Record) (worker string, seq int) {
	i := strings.LastIndexByte(r.ID, '.')
	if i < 0 {
		return r.WorkerID, -1
	}
	if _, err := fmt.Sscanf(r.ID[i+1:], "%d", &seq); err != nil {
		return r.WorkerID, -1
	}
	return r.WorkerID, seq
}

// latest returns, per worker, the highest sequence received.
func latest(recs []Record) map[string]int {
	out := make(map[string]int)
	for _, r := range recs {
		w, seq := SeqOf(r)
		out[w] = max(out[w], seq)
	}
	return out
}

// CheckOrdered fails unless recs hold, for each worker of want, exactly the
// sequences from..want[w] in order, and nothing of another team.
func CheckOrdered(t *testing.T, name, team string, recs []Record, from int, want map[string]int) {
	t.Helper()
	next := make(map[string]int)
	for _, r := range recs {
		if r.Team != team {
			t.Fatalf("%s: got a record of team %s on a stream of %s", name, r.Team, team)
		}
		w, seq := SeqOf(r)
		if _, ok := want[w]; !ok {
			continue
		}
		expect := max(next[w]+1, from)
		if seq != expect {
			t.Fatalf("%s: worker %s: got seq %d, want %d", name, w, seq, expect)
		}
		next[w] = seq
	}
	for w, n := range want {
		if next[w] != n {
			t.Fatalf("%s: worker %s: last seq %d, want %d", name, w, next[w], n)
		}
	}
}

func hasAll(want map[string]int) func([]Record) bool {
	return func(recs []Record) bool {
		got := latest(recs)
		for w, n := range want {
			if got[w] < n {
				return false
			}
		}
		return true
	}
}

func (s *scenarios) twoReplicas(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	// A first position makes the snapshot non-empty, so that a manager's first
	// message proves its subscription is in place.
	if _, err := Post(a.URL+"/tracking", bytes.NewReader(Rec("team_a", "w0", 1))); err != nil {
		t.Fatal(err)
	}
	sseA, err := OpenSSE(b.URL + "/tracking/team_a")
	if err != nil {
		t.Fatal(err)
	}
	defer sseA.Close()
	wsA, err := OpenManagerWS(b.WS + "/tracking/team_a/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer wsA.Close()
	sseB, err := OpenSSE(b.URL + "/tracking/team_b/")
	if err != nil {
		t.Fatal(err)
	}
	defer sseB.Close()
	for _, st := range []*Stream{sseA, wsA} {
		if !st.WaitFor(s.f.Timeout, hasAll(map[string]int{"w0": 1})) {
			t.Fatal("manager did not get the snapshot")
		}
	}

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, w := range []string{"w1", "w2", "w3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendWS(a.WS+"/tracking/ws", "team_a", w, n, w == "w3")
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		var body bytes.Buffer
		for i := 1; i <= n; i++ {
			body.Write(Rec("team_a", "w4", i))
			if i%2 == 0 {
				body.WriteByte('\n') // half NDJSON, half concatenated
			}
		}
		sum, err := Post(a.URL+"/tracking/", &body)
		if err == nil && (sum.Accepted != n || sum.Rejected != 0) {
			err = fmt.Errorf("POST summary %+v, want %d accepted", sum, n)
		}
		errs <- err
	}()
	go func() {
		defer wg.Done()
		errs <- sendWS(a.WS+"/tracking/ws", "team_b", "wb", 20, false)
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"w1": n, "w2": n, "w3": n, "w4": n}
	for name, st := range map[string]*Stream{"SSE": sseA, "WebSocket": wsA} {
		if !st.WaitFor(s.f.Timeout, hasAll(want)) {
			t.Fatalf("%s manager on B: latest %v, want %v", name, latest(st.Records()), want)
		}
		CheckOrdered(t, name+" manager", "team_a", st.Records(), 1, want)
	}
	if !sseB.WaitFor(s.f.Timeout, hasAll(map[string]int{"wb": 20})) {
		t.Fatalf("team_b manager: latest %v", latest(sseB.Records()))
	}
	CheckOrdered(t, "team_b manager", "team_b", sseB.Records(), 1, map[string]int{"wb": 20})
}

// sendWS sends n records of worker over a worker WebSocket, in arrays of 10
// when batched, and fails on any error answer.
func sendWS(url, team, worker string, n int, batched bool) error {
	w, err := DialWorker(url)
	if err != nil {
		return err
	}
	defer w.Close()
	for i := 1; i <= n; {
		var msg []byte
		if batched {
			parts := [][]byte{}
			for j := 0; j < 10 && i <= n; j++ {
				parts = append(parts, Rec(team, worker, i))
				i++
			}
			msg = append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']')
		} else {
			msg = Rec(team, worker, i)
			i++
		}
		if err := w.Send(msg); err != nil {
			return fmt.Errorf("worker %s send: %w", worker, err)
		}
	}
	if a := w.Answers(); len(a) > 0 {
		return fmt.Errorf("worker %s got error answers: %v", worker, a)
	}
	return nil
}

func (s *scenarios) lateManager(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	var body bytes.Buffer
	want := make(map[string]int)
	for w := 1; w <= 20; w++ {
		worker := fmt.Sprintf("w%d", w)
		want[worker] = 5
		for i := 1; i <= 5; i++ {
			body.Write(Rec("team_late", worker, i))
			body.WriteByte('\n')
		}
	}
	if sum, err := Post(a.URL+"/tracking", &body); err != nil || sum.Accepted != 100 {
		t.Fatalf("POST: %+v %v", sum, err)
	}
	// Wait until every worker's last position is stored (publishing is
	// asynchronous), so that the snapshot is known in advance.
	deadline := time.Now().Add(s.f.Timeout)
	for {
		stored, err := getRecords(b.URL + "/tracking/team_late/positions")
		if err == nil && reached(latest(stored), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("positions endpoint: %v, err %v; want %v", latest(stored), err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the store
	}
	start := time.Now()
	st, err := OpenSSE(b.URL + "/tracking/team_late")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !st.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) >= 20 }) {
		t.Fatalf("snapshot: %d records, want 20", len(st.Records()))
	}
	elapsed := time.Since(start)
	t.Logf("snapshot of 20 workers complete %s after connecting", elapsed.Round(time.Millisecond))
	CheckOrdered(t, "snapshot", "team_late", st.Records()[:20], 5, want)
}

func (s *scenarios) slowManager(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{QueueSoftLimit: 64, WriteTimeout: 30 * time.Second})
	slow := openStalledSSE(t, strings.TrimPrefix(b.URL, "http://"), "/tracking/team_s")
	defer slow.Close()
	fast, err := OpenSSE(b.URL + "/tracking/team_s")
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()

	// Enough bytes to fill the stalled connection's socket buffers many times.
	const workers, per = 40, 400
	pad := strings.Repeat("x", 100)
	want := make(map[string]int)
	var body bytes.Buffer
	for i := 1; i <= per; i++ {
		for w := 1; w <= workers; w++ {
			worker := fmt.Sprintf("w%d", w)
			want[worker] = per
			rec := Rec("team_s", worker, i)
			// A long id makes each record about 300 bytes.
			rec = bytes.Replace(rec, []byte(`"id":"`), []byte(`"id":"`+pad+`-`), 1)
			body.Write(rec)
			body.WriteByte('\n')
		}
	}
	if sum, err := Post(a.URL+"/tracking", &body); err != nil || sum.Accepted != workers*per {
		t.Fatalf("POST: %+v %v", sum, err)
	}
	if !fast.WaitFor(s.f.Timeout, hasAll(want)) {
		t.Fatalf("fast manager did not get every worker's latest position: %v", latest(fast.Records()))
	}
	// The stalled manager's queue was conflated (or it was dropped as slow)
	// instead of growing: the replica kept the latest per worker only.
	conflated := b.Counter(t, "tracking_stream_conflated_total")
	dropped := b.Counter(t, "tracking_reconnect_hints_total")
	if conflated == 0 && dropped == 0 {
		t.Fatal("the stalled manager's queue neither conflated nor overflowed")
	}
	t.Logf("stalled manager: %v positions conflated, %v dropped-as-slow hints", conflated, dropped)
}

// stalledConn is an SSE request whose response is never read.
type stalledConn struct{ net.Conn }

func openStalledSSE(t *testing.T, hostport, path string) *stalledConn {
	t.Helper()
	c, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, hostport)
	// Read the headers only, so the subscription is known to be in place.
	buf := make([]byte, 1)
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("stalled manager headers: %v", err)
		}
		head = append(head, buf[0])
	}
	if !bytes.Contains(head, []byte(" 200 ")) {
		t.Fatalf("stalled manager: %s", head)
	}
	return &stalledConn{c}
}

func (s *scenarios) shutdown(t *testing.T) {
	_, b := s.pair(t, httpapi.Config{})
	sse, err := OpenSSE(b.URL + "/tracking/team_sd")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	ws, err := OpenManagerWS(b.WS + "/tracking/team_sd/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	b.Stop()
	for name, st := range map[string]*Stream{"SSE": sse, "WebSocket": ws} {
		select {
		case <-st.Done():
		case <-time.After(s.f.Timeout):
			t.Fatalf("%s stream still open after shutdown", name)
		}
		ev := st.Events()
		if len(ev) == 0 || ev[len(ev)-1] != "reconnect" {
			t.Fatalf("%s stream got events %v, want a reconnect hint", name, ev)
		}
	}
}

func (s *scenarios) restart(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	sse, err := OpenSSE(b.URL + "/tracking/team_rs")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	w, err := DialWorker(a.WS + "/tracking/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Send(Rec("team_rs", "w1", 1)); err != nil {
		t.Fatal(err)
	}
	if !sse.WaitFor(s.f.Timeout, hasAll(map[string]int{"w1": 1})) {
		t.Fatal("no delivery before the restart")
	}
	s.f.RestartBroker(t)
	deadline := time.Now().Add(60 * time.Second)
	for seq := 2; ; seq++ {
		if err := w.Send(Rec("team_rs", "w1", seq)); err != nil {
			t.Fatalf("worker connection lost with the broker restart: %v", err)
		}
		if sse.WaitFor(200*time.Millisecond, func(r []Record) bool { return latest(r)["w1"] >= 2 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream did not resume within 60s of the broker restart")
		}
	}
}
