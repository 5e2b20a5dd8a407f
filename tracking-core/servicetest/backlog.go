package servicetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/testsupport"
)

// backlogSize is the "a backlog of 500 old fixes".
const backlogSize = 500

// A phone back online uploads the 500 fixes it buffered, oldest first, after
// it already sent a live one: managers get them marked late, and the worker's
// last known position stays the live fix.
func (s *scenarios) backlog(t *testing.T) {
	a, b := s.pair(t, httpapi.Config{})
	const team = "team_backlog"
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)
	defer mgr.Close()
	now := time.Now().UTC()
	w := MustDialWorker(t, a.WS+"/tracking/ws")
	defer w.Close()
	must(t, w.Send(RecAt(team, "w1", backlogSize+1, now)))
	if !mgr.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) == 1 }) {
		t.Fatal("the live fix did not arrive")
	}
	var body bytes.Buffer
	start := now.Add(-time.Hour)
	for i := 1; i <= backlogSize; i++ {
		body.Write(RecAt(team, "w1", i, start.Add(time.Duration(i)*time.Second)))
		body.WriteByte('\n')
	}
	if sum, err := Post(a.URL+"/tracking", &body); err != nil || sum.Accepted != backlogSize {
		t.Fatalf("backlog POST: %+v %v", sum, err)
	}
	if !mgr.WaitFor(s.f.Timeout, func(r []Record) bool { return len(r) == backlogSize+1 }) {
		t.Fatalf("manager got %d of %d positions", len(mgr.Records()), backlogSize+1)
	}
	for i, r := range mgr.Records() {
		var v struct{ Late bool }
		if err := json.Unmarshal(r.JSON, &v); err != nil {
			t.Fatal(err)
		}
		if _, seq := SeqOf(r); v.Late != (seq <= backlogSize) {
			t.Fatalf("record %d (seq %d) late=%v: only the buffered fixes are late: %s", i, seq, v.Late, r.JSON)
		}
	}
	want := fmt.Sprint(map[string]int{"w1": backlogSize + 1})
	for _, r := range []*Replica{a, b} {
		// A broker may store last positions a moment later (Kafka: once a
		// second); any other answer than the live fix fails at once.
		var got string
		var err error
		testsupport.Eventually(t, s.f.Timeout, "the live fix as the last position", func() bool {
			var last []Record
			last, err = LastPositions(r.URL+"/tracking", team)
			got = fmt.Sprint(latestOf(last))
			if err == nil && got != want && len(last) > 0 {
				t.Fatalf("last position after the backlog: %s; want the live fix %s", got, want)
			}
			return err == nil && got == want
		})
	}
}
