package integration_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// ndjson is the body of a POST: worker's records from..to, one per line.
func ndjson(team, worker string, from, to int) io.Reader {
	var b bytes.Buffer
	for i := from; i <= to; i++ {
		b.Write(servicetest.Rec(team, worker, i))
		b.WriteByte('\n')
	}
	return &b
}

// postAll POSTs worker's records from..to to base (…/tracking/redis) and
// checks the summary.
func postAll(base, team, worker string, from, to int) error {
	sum, err := servicetest.Post(base+"/", ndjson(team, worker, from, to))
	if err != nil {
		return err
	}
	if n := to - from + 1; sum.Accepted != n || sum.Rejected != 0 {
		return fmt.Errorf("POST %s: summary %+v, want %d accepted", worker, sum, n)
	}
	return nil
}

// waitKnown waits until team's last positions (through base) hold want, so
// that a manager connecting next gets them in its snapshot.
func waitKnown(t *testing.T, base, team string, want map[string]int) {
	t.Helper()
	testsupport.Eventually(t, 15*time.Second, fmt.Sprintf("last positions of %s to reach %v", team, want), func() bool {
		recs, err := servicetest.LastPositions(base, team)
		return err == nil && servicetest.Reached(servicetest.Latest(recs), want)
	})
}

// gauges reads tracking_connections of kind on each replica.
func gauges(t *testing.T, ps []*proc, kind string) []float64 {
	t.Helper()
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.metric(t, "tracking_connections", map[string]string{"kind": kind})
	}
	return out
}

// waitGauges waits until the replicas' tracking_connections of kind are want.
func waitGauges(t *testing.T, ps []*proc, kind string, want []float64) {
	t.Helper()
	testsupport.Eventually(t, 10*time.Second, fmt.Sprintf("%s connections on %v to be %v", kind, addrsOf(ps), want), func() bool {
		return fmt.Sprint(gauges(t, ps, kind)) == fmt.Sprint(want)
	})
}

// landing waits until exactly one more connection of kind shows on one of
// ps (compared with before) and returns its index.
func landing(t *testing.T, ps []*proc, kind string, before []float64) int {
	t.Helper()
	var at int
	testsupport.Eventually(t, 10*time.Second, fmt.Sprintf("one more %s connection on one replica than %v", kind, before), func() bool {
		got := gauges(t, ps, kind)
		var grew []int
		var total float64
		for i := range got {
			total += got[i] - before[i]
			if got[i] > before[i] {
				grew = append(grew, i)
			}
		}
		if total == 1 && len(grew) == 1 {
			at = grew[0]
		}
		return total == 1 && len(grew) == 1
	})
	return at
}

// dialOnto opens connections of kind through the gateway with open, up to
// six, until one lands on ps[0], and returns it; those landing elsewhere
// stay open, idle, until the end of the test.
func dialOnto[C any](t *testing.T, ps []*proc, kind string, open func() C, closeIt func(C)) C {
	t.Helper()
	for range 6 {
		before := gauges(t, ps, kind)
		c := open()
		if landing(t, ps, kind, before) == 0 {
			return c
		}
		t.Cleanup(func() { closeIt(c) })
	}
	t.Fatalf("six %s connections through the gateway, none on %s", kind, ps[0].addr)
	panic("unreachable")
}

// again opens what with open, trying again for up to timeout, as a client
// whose connection just ended does.
func again[C any](t *testing.T, what string, timeout time.Duration, open func() (C, error)) C {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := open()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %v; again", what, err)
		time.Sleep(200 * time.Millisecond) // a client's retry delay
	}
}
