package servicetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire"
)

// A worker whose clock is a month behind (the reference simulator's legacy
// dates: a 0-based month) is in the snapshot while it sends, on either
// replica; a late upload of an older fix does not replace a worker's newer
// last position.
func (s *scenarios) clocks(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	const team = "team_clock"
	now := time.Now().UTC()
	monthAgo := now.AddDate(0, -1, 0)
	var body bytes.Buffer
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&body, `{"id":"w_skewed.%d","workerId":"w_skewed","team":%q,"location":{"latitude":"-23.5%d","longitude":"-46.6"},"timeStamp":%q}`+"\n",
			i, team, i, monthAgo.Add(time.Duration(i)*time.Second).Format(wire.LegacyTimeLayout))
	}
	body.Write(RecAt(team, "w_late", 2, now))
	body.WriteByte('\n')
	body.Write(RecAt(team, "w_late", 1, now.Add(-time.Minute))) // buffered while offline, uploaded late
	body.WriteByte('\n')
	body.Write(RecAt(team, "w_mark", 1, now))
	if sum, err := Post(a.URL+"/tracking", &body); err != nil || sum.Accepted != 8 {
		t.Fatalf("POST: %+v %v", sum, err)
	}
	want := map[string]int{"w_skewed": 5, "w_late": 2, "w_mark": 1}
	deadline := time.Now().Add(s.f.Timeout)
	for {
		stored, err := LastPositions(b.URL+"/tracking", team)
		got := latestOf(stored)
		if err == nil && fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("positions on B: %v, err %v; want %v (month-old clock kept, late upload not replacing the newer fix)", got, err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the store
	}
	for _, r := range []*Replica{a, b} {
		start := time.Now()
		st, err := OpenSSE(r.URL + "/tracking/" + team)
		if err != nil {
			t.Fatal(err)
		}
		complete := st.WaitFor(snapshotWithin-time.Since(start), func(r []Record) bool { return len(r) >= 3 })
		st.Close()
		if !complete {
			t.Fatalf("snapshot: %d records within %s, want 3", len(st.Records()), snapshotWithin)
		}
		if got := latestOf(st.Records()[:3]); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("snapshot %v, want %v", got, want)
		}
	}
}

// latestOf maps each worker of recs to the sequence of its record (the last
// one when it has several).
func latestOf(recs []Record) map[string]int {
	out := make(map[string]int, len(recs))
	for _, r := range recs {
		w, seq := SeqOf(r)
		out[w] = seq
	}
	return out
}
