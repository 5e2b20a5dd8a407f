package pghistory_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/testsupport"
)

func runCmd(t *testing.T, name string) {
	t.Helper()
	cmd := testsupport.Env(t, name, hint)
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// TestWriterRidesOutAnOutage stops PostgreSQL for about 10 s while records
// are added at a steady 1,000/s: Add never blocks, the backlog stays within
// its bound, writing resumes by itself after the restart, and every record
// added is either in the database or counted as dropped.
func TestWriterRidesOutAnOutage(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	testsupport.Env(t, "TEST_POSTGRES_STOP_CMD", hint)
	outage := 10 * time.Second
	if testing.Short() {
		outage = 3 * time.Second
	}
	store := openStore(t, dsn)
	defer store.Close()
	const backlog = 2000
	w := history.NewWriter(store, history.WriterConfig{
		Backlog: backlog, Batch: 200, Linger: 20 * time.Millisecond,
		WriteTimeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	defer w.Close()

	start := time.Now().UTC().Truncate(time.Second)
	n := 0
	add := func(d time.Duration) {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			for range 10 {
				at := start.Add(time.Duration(n) * time.Millisecond)
				w.Add(history.Record{Position: tracking.Position{
					ID: fmt.Sprintf("p-%08d", n), WorkerID: "w-1", Team: "team_one",
					Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: at,
				}, Received: at})
				n++
			}
			if b := w.Stats().Backlog; b > backlog {
				t.Errorf("backlog %d, bound %d", b, backlog)
			}
		}
	}
	add(time.Second)
	testsupport.Eventually(t, 10*time.Second, "the first records written", func() bool { return w.Stats().Written > 0 })

	runCmd(t, "TEST_POSTGRES_STOP_CMD")
	restarted := false
	defer func() {
		if !restarted { // leave the server up for the tests after this one
			runCmd(t, "TEST_POSTGRES_START_CMD")
		}
	}()
	// Adding goes on at the same rate while the server is down. Were Add
	// to block on the database, this would not end until the restart below,
	// which waits for it.
	done := make(chan struct{})
	go func() { defer close(done); add(outage) }()
	select {
	case <-done:
	case <-time.After(outage + time.Minute):
		t.Fatal("Add blocked while PostgreSQL was down")
	}
	during := w.Stats()
	t.Logf("after %s down: %+v", outage, during)
	runCmd(t, "TEST_POSTGRES_START_CMD")
	restarted = true
	add(time.Second)

	testsupport.Eventually(t, time.Minute, "the backlog written after the restart", func() bool {
		s := w.Stats()
		return s.Backlog == 0 && s.Written+s.Dropped == s.Added
	})
	_ = w.Close()
	st := w.Stats()
	t.Logf("added %d, written %d, dropped %d", st.Added, st.Written, st.Dropped)
	if st.Added != uint64(n) || st.Written+st.Dropped != st.Added {
		t.Fatalf("stats %+v: written + dropped != added (%d)", st, n)
	}
	if st.Written <= during.Written {
		t.Fatal("nothing was written after the restart")
	}
	// The database holds exactly what was counted as written.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := history.Query{Team: "team_one", From: start, To: start.Add(time.Hour), Limit: 100_000}
	var stored uint64
	for {
		p, err := store.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		stored += uint64(len(p.Records))
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if stored != st.Written {
		t.Fatalf("the database holds %d records, Written %d", stored, st.Written)
	}
}
