package integration_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/servicetest"
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

// knownWorkers returns the workers of team's last positions (GET …/positions).
func knownWorkers(base, team string) (map[string]int, error) {
	recs, err := servicetest.LastPositions(base, team)
	return servicetest.Latest(recs), err
}

// waitKnown waits until team's last positions (through base) hold want, so
// that a manager connecting next gets them in its snapshot.
func waitKnown(t *testing.T, base, team string, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := knownWorkers(base, team)
		if err == nil && servicetest.Reached(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("last positions of %s: %v (err %v), want %v", team, got, err, want)
		}
		time.Sleep(50 * time.Millisecond) // polling the store
	}
}

// gauge is the sum of a replica's tracking_connections of kind.
func gauge(t *testing.T, p *proc, kind string) float64 {
	t.Helper()
	return mustScrape(t, p.url()).sum("tracking_connections", map[string]string{"kind": kind})
}

// gauges reads tracking_connections of kind on each replica.
func gauges(t *testing.T, ps []*proc, kind string) []float64 {
	t.Helper()
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = gauge(t, p, kind)
	}
	return out
}

// waitGauges waits until the replicas' tracking_connections of kind are want.
func waitGauges(t *testing.T, ps []*proc, kind string, want []float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := gauges(t, ps, kind)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s connections on %v: %v, want %v", kind, addrsOf(ps), got, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the replicas' metrics
	}
}

// landing waits until exactly one more connection of kind shows on one of
// ps (compared with before) and returns its index.
func landing(t *testing.T, ps []*proc, kind string, before []float64) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
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
			return grew[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s connections went from %v to %v, want one more on one replica", kind, before, got)
		}
		time.Sleep(20 * time.Millisecond) // polling the replicas' metrics
	}
}
