package servicetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
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
	t.Run("ClockSkewAndLateUpload", s.clocks)
	t.Run("ManagerResumesAfterACut", s.resume)
	t.Run("BacklogUploadIsLate", s.backlog)
	t.Run("PresenceAcrossReplicas", s.presence)
	t.Run("GeofenceAlertsAcrossReplicas", s.geofences)
	t.Run("ProximityRuleOnOneReplica", s.proximity)
	t.Run("MessagesAcrossReplicas", s.messages)
	t.Run("SamplingAdviceAcrossReplicas", s.sampling)
	t.Run("PhonesAcrossReplicas", s.phones)
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
func Rec(team, worker string, seq int) []byte { return RecAt(team, worker, seq, time.Now()) }

// RecAt is Rec stamped at ts: a scenario that stamps its records alike knows
// the exact JSON every delivery must carry (CheckContent).
func RecAt(team, worker string, seq int, ts time.Time) []byte {
	p := tracking.Position{
		ID: fmt.Sprintf("%s.%d", worker, seq), WorkerID: worker, Team: team,
		Location:  tracking.Location{Latitude: -23.55 + float64(seq%1000)/10000, Longitude: -46.63 - float64(len(worker))/100},
		TimeStamp: ts.UTC(),
	}
	return wire.AppendPosition(nil, &p)
}

// CheckContent fails unless every record of recs is, byte for byte, the one
// that was sent: RecAt(its team, worker, seq, ts). The canonical form makes
// what a worker sends and what a manager receives identical.
func CheckContent(t *testing.T, name string, recs []Record, ts time.Time) {
	t.Helper()
	for _, r := range recs {
		w, seq := SeqOf(r)
		if want := RecAt(r.Team, w, seq, ts); !bytes.Equal(r.JSON, want) {
			t.Fatalf("%s: received %s\nwant         %s", name, r.JSON, want)
		}
	}
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

// Latest returns, per worker, the highest sequence received.
func Latest(recs []Record) map[string]int {
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

// HasAll holds once every worker of want reached its sequence in recs.
func HasAll(want map[string]int) func([]Record) bool {
	return func(recs []Record) bool { return Reached(Latest(recs), want) }
}

func (s *scenarios) twoReplicas(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	ts := time.Now() // every record alike: deliveries are compared byte for byte
	// A first position makes the snapshot non-empty, so that a manager's first
	// message proves its subscription is in place.
	if _, err := Post(a.URL+"/tracking", bytes.NewReader(RecAt("team_a", "w0", 1, ts))); err != nil {
		t.Fatal(err)
	}
	sseA := MustOpenSSE(t, b.URL+"/tracking/team_a")
	wsA := MustOpenManagerWS(t, b.WS+"/tracking/team_a/ws")
	sseB := MustOpenSSE(t, b.URL+"/tracking/team_b/")
	for _, st := range []*Stream{sseA, wsA} {
		if !st.WaitFor(s.f.Timeout, HasAll(map[string]int{"w0": 1})) {
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
			errs <- sendWS(a.WS+"/tracking/ws", "team_a", w, n, w == "w3", ts)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		var body bytes.Buffer
		for i := 1; i <= n; i++ {
			body.Write(RecAt("team_a", "w4", i, ts))
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
		errs <- sendWS(a.WS+"/tracking/ws", "team_b", "wb", 20, false, ts)
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
		if !st.WaitFor(s.f.Timeout, HasAll(want)) {
			t.Fatalf("%s manager on B: latest %v, want %v", name, Latest(st.Records()), want)
		}
		CheckOrdered(t, name+" manager", "team_a", st.Records(), 1, want)
		CheckContent(t, name+" manager", st.Records(), ts)
	}
	if !sseB.WaitFor(s.f.Timeout, HasAll(map[string]int{"wb": 20})) {
		t.Fatalf("team_b manager: latest %v", Latest(sseB.Records()))
	}
	CheckOrdered(t, "team_b manager", "team_b", sseB.Records(), 1, map[string]int{"wb": 20})
	CheckContent(t, "team_b manager", sseB.Records(), ts)
}

// sendWS sends n records of worker stamped ts over a worker WebSocket, in
// arrays of 10 when batched, and fails on any error answer. It runs in its
// own goroutine: it returns errors, never fails the test itself.
func sendWS(url, team, worker string, n int, batched bool, ts time.Time) error {
	w, err := DialWorker(url)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
	}()
	for i := 1; i <= n; {
		var msg []byte
		if batched {
			parts := [][]byte{}
			for j := 0; j < 10 && i <= n; j++ {
				parts = append(parts, RecAt(team, worker, i, ts))
				i++
			}
			msg = append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']')
		} else {
			msg = RecAt(team, worker, i, ts)
			i++
		}
		if err := w.Send(msg); err != nil {
			return fmt.Errorf("worker %s send: %w", worker, err)
		}
	}
	// Close reads what the server sent before its close frame: every answer
	// to the records above is in.
	w.Close()
	closed = true
	if a := w.Refusals(); len(a) > 0 {
		return fmt.Errorf("worker %s got error answers: %v", worker, a)
	}
	return nil
}

// snapshotWithin is the contract's bound on the snapshot of a manager
// connecting to any replica.
const snapshotWithin = time.Second

func (s *scenarios) lateManager(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	ts := time.Now()
	var body bytes.Buffer
	want := make(map[string]int)
	for w := 1; w <= 20; w++ {
		worker := fmt.Sprintf("w%d", w)
		want[worker] = 5
		for i := 1; i <= 5; i++ {
			body.Write(RecAt("team_late", worker, i, ts))
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
		stored, err := LastPositions(b.URL+"/tracking", "team_late")
		if err == nil && Reached(Latest(stored), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("positions endpoint: %v, err %v; want %v", Latest(stored), err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the store
	}
	// Managers on either replica, over either transport, each get the whole
	// snapshot within the contract's second of starting to connect.
	for _, m := range []struct {
		name string
		open func() (*Stream, error)
	}{
		{"SSE on A", func() (*Stream, error) { return OpenSSE(a.URL + "/tracking/team_late") }},
		{"SSE on B", func() (*Stream, error) { return OpenSSE(b.URL + "/tracking/team_late") }},
		{"WebSocket on A", func() (*Stream, error) { return OpenManagerWS(a.WS + "/tracking/team_late/ws") }},
		{"WebSocket on B", func() (*Stream, error) { return OpenManagerWS(b.WS + "/tracking/team_late/ws") }},
	} {
		start := time.Now()
		st, err := m.open()
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		complete := st.WaitFor(snapshotWithin-time.Since(start), func(r []Record) bool { return len(r) >= 20 })
		elapsed := time.Since(start)
		st.Close()
		if !complete {
			t.Fatalf("%s: %d snapshot records within %s, want 20", m.name, len(st.Records()), snapshotWithin)
		}
		t.Logf("%s: snapshot of 20 workers complete %s after connecting", m.name, elapsed.Round(time.Millisecond))
		recs := st.Records()
		CheckOrdered(t, m.name+" snapshot", "team_late", recs[:20], 5, want)
		CheckContent(t, m.name+" snapshot", recs, ts)
	}
}

func (s *scenarios) slowManager(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{QueueSoftLimit: 64, WriteTimeout: 30 * time.Second})
	slow := openStalledSSE(t, strings.TrimPrefix(b.URL, "http://"), "/tracking/team_s")
	defer slow.Close()
	fast := MustOpenSSE(t, b.URL+"/tracking/team_s")

	// Enough bytes to fill the stalled connection's socket buffers many times.
	const workers, per = 40, 400
	pad := strings.Repeat("x", 100)
	want := make(map[string]int)
	sent := make(map[string][]byte, workers*per) // id -> record
	var body bytes.Buffer
	for i := 1; i <= per; i++ {
		for w := 1; w <= workers; w++ {
			worker := fmt.Sprintf("w%d", w)
			want[worker] = per
			rec := Rec("team_s", worker, i)
			// A long id makes each record about 300 bytes.
			rec = bytes.Replace(rec, []byte(`"id":"`), []byte(`"id":"`+pad+`-`), 1)
			sent[pad+"-"+worker+"."+fmt.Sprint(i)] = rec
			body.Write(rec)
			body.WriteByte('\n')
		}
	}
	if sum, err := Post(a.URL+"/tracking", &body); err != nil || sum.Accepted != workers*per {
		t.Fatalf("POST: %+v %v", sum, err)
	}
	if !fast.WaitFor(s.f.Timeout, HasAll(want)) {
		t.Fatalf("fast manager did not get every worker's latest position: %v", Latest(fast.Records()))
	}
	for _, r := range fast.Records() {
		if !bytes.Equal(r.JSON, sent[r.ID]) {
			t.Fatalf("fast manager received %s\nwant %s", r.JSON, sent[r.ID])
		}
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
	sse := MustOpenSSE(t, b.URL+"/tracking/team_sd")
	ws := MustOpenManagerWS(t, b.WS+"/tracking/team_sd/ws")
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
		var hint *apiclient.ReconnectError
		if !errors.As(st.Err(), &hint) || hint.Reason != wire.ReasonShutdown {
			t.Fatalf("%s stream ended with %v, want a %q hint", name, st.Err(), wire.ReasonShutdown)
		}
	}
}

func (s *scenarios) restart(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	ts := time.Now()
	sse := MustOpenSSE(t, b.URL+"/tracking/team_rs")
	w := MustDialWorker(t, a.WS+"/tracking/ws")
	if err := w.Send(RecAt("team_rs", "w1", 1, ts)); err != nil {
		t.Fatal(err)
	}
	if !sse.WaitFor(s.f.Timeout, HasAll(map[string]int{"w1": 1})) {
		t.Fatal("no delivery before the restart")
	}
	s.f.RestartBroker(t)
	deadline := time.Now().Add(60 * time.Second)
	for seq := 2; ; seq++ {
		if err := w.Send(RecAt("team_rs", "w1", seq, ts)); err != nil {
			t.Fatalf("worker connection lost with the broker restart: %v", err)
		}
		if sse.WaitFor(200*time.Millisecond, func(r []Record) bool { return Latest(r)["w1"] >= 2 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream did not resume within 60s of the broker restart")
		}
	}
	CheckContent(t, "manager across the restart", sse.Records(), ts)
}
