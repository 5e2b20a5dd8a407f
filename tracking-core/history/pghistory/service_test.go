package pghistory_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// TestLiveFlowsWhilePostgresIsDown runs a replica whose history is on the
// real PostgreSQL and stops the server for 10 s while a worker sends 20
// positions/s: the manager's live stream has every position, the history
// goes on by itself after the restart, and what it could not keep is
// counted as dropped, never silently lost.
func TestLiveFlowsWhilePostgresIsDown(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	testsupport.Env(t, "TEST_POSTGRES_STOP_CMD", hint)
	outage := 10 * time.Second
	if testing.Short() {
		outage = 3 * time.Second
	}
	store := openStore(t, dsn)
	w := history.NewWriter(store, history.WriterConfig{
		Backlog: 20, Batch: 10, Writes: 1, Linger: 20 * time.Millisecond,
		WriteTimeout: time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	t.Cleanup(func() { _ = w.Close(); _ = store.Close() }) // after the replica stops
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{History: w, RecordsPerSecond: -1})
	const team = "team_outage"
	mgr := servicetest.MustOpenSSE(t, r.URL+"/tracking/"+team)
	defer mgr.Close()
	wk := servicetest.MustDialWorker(t, r.WS+"/tracking/ws")
	defer wk.Close()

	seq := 0
	send := func(d time.Duration) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			seq++
			if err := wk.Send(servicetest.Rec(team, "w1", seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(time.Second)
	testsupport.Eventually(t, 10*time.Second, "history written before the outage", func() bool { return w.Stats().Written > 0 })

	before := w.Stats()
	runCmd(t, "TEST_POSTGRES_STOP_CMD")
	restarted := false
	defer func() {
		if !restarted {
			runCmd(t, "TEST_POSTGRES_START_CMD")
		}
	}()
	send(outage)
	duringOutage := seq
	// The live stream did not wait for the database: it has every position
	// sent so far, while the server is still down.
	if !mgr.WaitFor(10*time.Second, func(recs []servicetest.Record) bool { return len(recs) >= duringOutage }) {
		t.Fatalf("live stream has %d of %d positions with PostgreSQL down", len(mgr.Records()), duringOutage)
	}
	down := w.Stats()
	// A batch in flight when the server stopped may have landed; nothing
	// after it can have.
	if down.Written > before.Written+10 {
		t.Fatalf("%d records written while PostgreSQL was down", down.Written-before.Written)
	}
	runCmd(t, "TEST_POSTGRES_START_CMD")
	restarted = true
	send(time.Second)

	testsupport.Eventually(t, time.Minute, "history caught up after the restart", func() bool {
		s := w.Stats()
		return s.Added == uint64(seq) && s.Written+s.Dropped == s.Added && s.Written > down.Written
	})
	st := w.Stats()
	t.Logf("sent %d (%d during %s down): written %d, dropped %d", seq, duringOutage, outage, st.Written, st.Dropped)
	if st.Dropped == 0 {
		t.Fatalf("a backlog of 20 (and 10 in hand) kept %s of 20/s without dropping anything: %+v", outage, st)
	}
	if !mgr.WaitFor(10*time.Second, func(recs []servicetest.Record) bool { return len(recs) >= seq }) {
		t.Fatalf("live stream has %d of %d positions", len(mgr.Records()), seq)
	}
	got := make([]int, 0, seq)
	for _, rec := range mgr.Records() {
		_, n := servicetest.SeqOf(rec)
		got = append(got, n)
	}
	want := make([]int, seq)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		t.Fatalf("live stream carried %s, want 1..%d once each, in order", fmt.Sprint(got), seq)
	}
}
