package historytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
)

// NewStore returns a fresh, empty store of the backend under test (its own
// file, schema or table prefix). The suite closes it; whatever else it needs
// undone the constructor registers with t.Cleanup.
type NewStore func(t *testing.T) history.Store

// Run runs every conformance case against the backend, in parallel, each on
// a store of its own. With -short the larger cases write fewer records.
func Run(t *testing.T, newStore NewStore) {
	s := &suite{newStore: newStore, scale: 1}
	if testing.Short() {
		s.scale = 5
	}
	cases := []struct {
		name string
		run  func(t *testing.T, st history.Store)
	}{
		{"TimeRangeInOrder", s.timeRange},
		{"Boundaries", s.boundaries},
		{"WorkerFilterAndWholeTeam", s.workerFilter},
		{"PagingCoversEverythingOnce", s.paging},
		{"PagingEqualFixTimes", s.pagingEqualTimes},
		{"IdempotentWrites", s.idempotent},
		{"TeamIsolation", s.teamIsolation},
		{"OptionalFieldsRoundTrip", s.optionalFields},
		{"TimePrecision", s.timePrecision},
		{"PruneDropsOldPartitions", s.prune},
		{"LateRecords", s.lateRecords},
		{"ConcurrentWriters", s.concurrentWriters},
		{"BadQueries", s.badQueries},
		{"ReadyAndCloseTwice", s.readyClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			c.run(t, st)
		})
	}
}

type suite struct {
	newStore NewStore
	scale    int // divides the sizes of the larger cases
}

// base is a fixed instant in the past (not too old for any backend), so
// that cases do not depend on today's date.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// rec returns a record of worker in team at fix time at, with id made of
// worker and n.
func rec(team, worker string, n int, at time.Time) history.Record {
	return history.Record{
		Position: tracking.Position{
			ID: fmt.Sprintf("%s-%06d", worker, n), WorkerID: worker, Team: team,
			Location:  tracking.Location{Latitude: -23.5 + float64(n)*1e-5, Longitude: -46.6 - float64(n)*1e-5},
			TimeStamp: at,
		},
		Received: at.Add(150 * time.Millisecond),
	}
}

func write(t *testing.T, st history.Store, recs []history.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 500)
		if err := st.Write(ctx(t), recs[:n]); err != nil {
			t.Fatalf("Write %d records: %v", n, err)
		}
		recs = recs[n:]
	}
}

// queryAll follows the cursors of q and returns every record, failing the
// test if a page is larger than the limit or the paging does not end.
func queryAll(t *testing.T, st history.Store, q history.Query) []history.Record {
	t.Helper()
	var all []history.Record
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("paging does not end")
		}
		p, err := st.Query(ctx(t), q)
		if err != nil {
			t.Fatalf("Query %+v: %v", q, err)
		}
		if len(p.Records) > q.Limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), q.Limit)
		}
		all = append(all, p.Records...)
		if p.Next == "" {
			return all
		}
		if len(p.Records) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		q.Cursor = p.Next
	}
}

// sameRecords fails unless got and want hold the same records in the same
// order (times compared at the microsecond, see timeEqual).
func sameRecords(t *testing.T, what string, got, want []history.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if msg := diff(&got[i], &want[i]); msg != "" {
			t.Fatalf("%s: record %d: %s", what, i, msg)
		}
	}
}

// diff describes how got differs from want, or "".
func diff(got, want *history.Record) string {
	g, w := got.Position, want.Position
	switch {
	case g.ID != w.ID || g.WorkerID != w.WorkerID || g.Team != w.Team:
		return fmt.Sprintf("got %s/%s/%s, want %s/%s/%s", g.Team, g.WorkerID, g.ID, w.Team, w.WorkerID, w.ID)
	case g.Location != w.Location:
		return fmt.Sprintf("%s: location %+v, want %+v", w.ID, g.Location, w.Location)
	case !timeEqual(g.TimeStamp, w.TimeStamp):
		return fmt.Sprintf("%s: timeStamp %s, want %s", w.ID, g.TimeStamp.Format(time.RFC3339Nano), w.TimeStamp.Format(time.RFC3339Nano))
	case !timeEqual(got.Received, want.Received):
		return fmt.Sprintf("%s: received %s, want %s", w.ID, got.Received.Format(time.RFC3339Nano), want.Received.Format(time.RFC3339Nano))
	case !optEqual(g.Accuracy, w.Accuracy) || !optEqual(g.Speed, w.Speed) || !optEqual(g.Heading, w.Heading) ||
		!optEqual(g.Battery, w.Battery):
		return fmt.Sprintf("%s: accuracy/speed/heading/battery %v/%v/%v/%v, want %v/%v/%v/%v", w.ID,
			opt(g.Accuracy), opt(g.Speed), opt(g.Heading), opt(g.Battery),
			opt(w.Accuracy), opt(w.Speed), opt(w.Heading), opt(w.Battery))
	case g.TimeStamp.Location() != time.UTC || got.Received.Location() != time.UTC:
		return fmt.Sprintf("%s: times not in UTC", w.ID)
	}
	return ""
}

// timeEqual: the contract keeps times at least to the microsecond; a backend
// may keep more (SQLite keeps nanoseconds), never less.
func timeEqual(got, want time.Time) bool {
	return got.Equal(want) || got.Equal(want.Truncate(time.Microsecond))
}

func optEqual(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func opt(f *float64) any {
	if f == nil {
		return "absent"
	}
	return *f
}

func (s *suite) timeRange(t *testing.T, st history.Store) {
	n := 1000 / s.scale
	var recs []history.Record
	for i := range n {
		recs = append(recs, rec("team_one", "w-1", i, base.Add(time.Duration(i)*100*time.Millisecond)))
	}
	write(t, st, recs)
	all := queryAll(t, st, history.Query{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 100000})
	sameRecords(t, "whole range", all, recs)
	// A window in the middle, with a limit that fits it.
	from, to := n/4, n/2
	p, err := st.Query(ctx(t), history.Query{Team: "team_one", From: recs[from].Position.TimeStamp, To: recs[to].Position.TimeStamp, Limit: to - from})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "window", p.Records, recs[from:to])
	if p.Next != "" {
		t.Fatalf("a page holding the whole window has Next %q", p.Next)
	}
}

func (s *suite) boundaries(t *testing.T, st history.Store) {
	from := base.Truncate(time.Second)
	to := from.Add(time.Minute)
	recs := []history.Record{
		rec("team_one", "w-1", 0, from.Add(-time.Microsecond)), // before
		rec("team_one", "w-1", 1, from),                        // first in
		rec("team_one", "w-1", 2, to.Add(-time.Microsecond)),   // last in
		rec("team_one", "w-1", 3, to),                          // excluded
	}
	write(t, st, recs)
	got := queryAll(t, st, history.Query{Team: "team_one", From: from, To: to, Limit: 10})
	sameRecords(t, "[From, To)", got, recs[1:3])
}

func (s *suite) workerFilter(t *testing.T, st history.Store) {
	var recs []history.Record
	for i := range 30 {
		for _, w := range []string{"w-a", "w-b", "w-c"} {
			recs = append(recs, rec("team_one", w, i, base.Add(time.Duration(i)*time.Second)))
		}
	}
	write(t, st, recs)
	q := history.Query{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 1000}
	sameRecords(t, "whole team", queryAll(t, st, q), recs) // time, then worker order
	q.Worker = "w-b"
	var want []history.Record
	for _, r := range recs {
		if r.Position.WorkerID == "w-b" {
			want = append(want, r)
		}
	}
	sameRecords(t, "worker w-b", queryAll(t, st, q), want)
	q.Worker = "w-nobody"
	if got := queryAll(t, st, q); len(got) != 0 {
		t.Fatalf("an unknown worker has %d records", len(got))
	}
}

func (s *suite) paging(t *testing.T, st history.Store) {
	n := 1000 / s.scale
	var recs []history.Record
	for i := range n {
		recs = append(recs, rec("team_one", fmt.Sprintf("w-%d", i%4), i, base.Add(time.Duration(i)*time.Second)))
	}
	write(t, st, recs)
	for _, limit := range []int{1, 7, 100, n - 1, n, n + 1} {
		q := history.Query{Team: "team_one", From: base, To: base.Add(24 * time.Hour), Limit: limit}
		sameRecords(t, fmt.Sprintf("pages of %d", limit), queryAll(t, st, q), recs)
		q.Worker = "w-1"
		var want []history.Record
		for _, r := range recs {
			if r.Position.WorkerID == "w-1" {
				want = append(want, r)
			}
		}
		sameRecords(t, fmt.Sprintf("w-1, pages of %d", limit), queryAll(t, st, q), want)
	}
}

func (s *suite) pagingEqualTimes(t *testing.T, st history.Store) {
	// 5 instants; at each, 4 workers with 3 records each (ids differ).
	var recs []history.Record
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Second)
		for _, w := range []string{"w-a", "w-b", "w-c", "w-d"} {
			for k := range 3 {
				recs = append(recs, rec("team_one", w, i*10+k, at))
			}
		}
	}
	// Written in reverse, so that storage order is not query order.
	rev := make([]history.Record, len(recs))
	for i := range recs {
		rev[len(recs)-1-i] = recs[i]
	}
	write(t, st, rev)
	for _, limit := range []int{1, 2, 5, 11, 12, 13} {
		q := history.Query{Team: "team_one", From: base, To: base.Add(time.Minute), Limit: limit}
		sameRecords(t, fmt.Sprintf("pages of %d", limit), queryAll(t, st, q), recs)
	}
}

func (s *suite) idempotent(t *testing.T, st history.Store) {
	var recs []history.Record
	for i := range 50 {
		recs = append(recs, rec("team_one", "w-1", i, base.Add(time.Duration(i)*time.Second)))
	}
	write(t, st, recs)
	write(t, st, recs)
	// A batch holding a record twice, and one already stored whose other
	// fields differ: the first written stays.
	again := recs[10]
	again.Position.Location.Latitude = 10
	write(t, st, []history.Record{again, recs[20], recs[20]})
	q := history.Query{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 1000}
	sameRecords(t, "after rewrites", queryAll(t, st, q), recs)
	// Same id and team at another fix time is another record.
	other := rec("team_one", "w-1", 0, base.Add(time.Hour-time.Second))
	write(t, st, []history.Record{other})
	if got := queryAll(t, st, q); len(got) != len(recs)+1 {
		t.Fatalf("same id at another fix time: %d records, want %d", len(got), len(recs)+1)
	}
	// So is the same id and fix time from another worker.
	twin := recs[30]
	twin.Position.WorkerID = "w-2"
	write(t, st, []history.Record{twin, recs[30]})
	q.Worker = "w-2"
	sameRecords(t, "same id and fix time, another worker", queryAll(t, st, q), []history.Record{twin})
}

func (s *suite) teamIsolation(t *testing.T, st history.Store) {
	var one, two []history.Record
	for i := range 20 {
		at := base.Add(time.Duration(i) * time.Second)
		one = append(one, rec("team_one", "w-1", i, at))
		two = append(two, rec("team_two", "w-1", i, at)) // same worker and ids
	}
	write(t, st, append(append([]history.Record(nil), one...), two...))
	for _, c := range []struct {
		team string
		want []history.Record
	}{{"team_one", one}, {"team_two", two}} {
		q := history.Query{Team: c.team, From: base, To: base.Add(time.Hour), Limit: 7}
		sameRecords(t, c.team, queryAll(t, st, q), c.want)
		q.Worker = "w-1"
		sameRecords(t, c.team+" w-1", queryAll(t, st, q), c.want)
	}
	if got := queryAll(t, st, history.Query{Team: "team_three", From: base, To: base.Add(time.Hour), Limit: 7}); len(got) != 0 {
		t.Fatalf("an empty team has %d records", len(got))
	}
}

func (s *suite) optionalFields(t *testing.T, st history.Store) {
	f := func(v float64) *float64 { return &v }
	recs := []history.Record{
		rec("team_one", "w-1", 0, base),
		rec("team_one", "w-1", 1, base.Add(time.Second)),
		rec("team_one", "w-1", 2, base.Add(2*time.Second)),
		rec("team_one", "w-1", 3, base.Add(3*time.Second)),
		rec("team_one", "w-1", 4, base.Add(4*time.Second)),
		rec("team_one", "w-1", 5, base.Add(5*time.Second)),
	}
	// recs[0] has none of them.
	recs[1].Position.Accuracy, recs[1].Position.Speed, recs[1].Position.Heading = f(4.5), f(0), f(359.999)
	recs[1].Position.Battery = f(87.5)
	recs[2].Position.Speed = f(13.25)
	recs[3].Position.Heading = f(0)
	recs[4].Position.Battery = f(0) // 0 is a level, not absent
	recs[5].Position.Battery = f(100)
	recs[5].Position.Accuracy = f(12)
	recs[3].Position.Location = tracking.Location{Latitude: -90, Longitude: 179.99999999999997}
	write(t, st, recs)
	sameRecords(t, "optional fields", queryAll(t, st, history.Query{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 10}), recs)
}

func (s *suite) timePrecision(t *testing.T, st history.Store) {
	recs := []history.Record{
		rec("team_one", "w-1", 0, base.Truncate(time.Second).Add(123456789)), // .123456789
		rec("team_one", "w-1", 1, base.Truncate(time.Second).Add(123457000)), // 1 µs later
		rec("team_one", "w-1", 2, base.Truncate(time.Second).Add(999999999)),
	}
	recs[0].Received = base.Add(time.Hour + 1001) // received later than the fix, sub-µs
	// A fix in another time zone comes back in UTC.
	recs[2].Position.TimeStamp = recs[2].Position.TimeStamp.In(time.FixedZone("BRT", -3*3600))
	write(t, st, recs)
	got := queryAll(t, st, history.Query{Team: "team_one", From: base.Truncate(time.Second), To: base.Add(time.Hour), Limit: 10})
	recs[2].Position.TimeStamp = recs[2].Position.TimeStamp.UTC()
	sameRecords(t, "times to the microsecond", got, recs)
}

func (s *suite) prune(t *testing.T, st history.Store) {
	day := history.Day(base)
	var recs []history.Record
	for d := -3; d <= 0; d++ {
		for h := range 24 {
			at := day.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + 30*time.Minute)
			recs = append(recs, rec("team_one", "w-1", (d+3)*100+h, at))
		}
	}
	write(t, st, recs)
	// Cut through day-1: days -3 and -2 go, day -1 stays whole.
	before := day.AddDate(0, 0, -1).Add(12 * time.Hour)
	if err := st.Prune(ctx(t), before); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	q := history.Query{Team: "team_one", From: day.AddDate(0, 0, -10), To: day.AddDate(0, 0, 1), Limit: 1000}
	sameRecords(t, "after Prune", queryAll(t, st, q), recs[48:])
	// Pruning again is a no-op; a partition is made again for a late write.
	if err := st.Prune(ctx(t), before); err != nil {
		t.Fatalf("Prune again: %v", err)
	}
	late := rec("team_one", "w-1", 999, day.AddDate(0, 0, -3).Add(time.Hour))
	write(t, st, []history.Record{late})
	sameRecords(t, "late write into a pruned day", queryAll(t, st, q), append([]history.Record{late}, recs[48:]...))
}

func (s *suite) lateRecords(t *testing.T, st history.Store) {
	var recs []history.Record
	for i := range 40 {
		recs = append(recs, rec("team_one", "w-1", i, base.Add(time.Duration(i)*time.Minute)))
	}
	// Newest first, one per Write; then a fix from 5 days before, in a
	// partition that does not exist yet.
	for i := len(recs) - 1; i >= 0; i-- {
		write(t, st, recs[i:i+1])
	}
	old := rec("team_one", "w-1", 100, base.AddDate(0, 0, -5))
	write(t, st, []history.Record{old})
	q := history.Query{Team: "team_one", From: base.AddDate(0, 0, -6), To: base.Add(time.Hour), Limit: 9}
	sameRecords(t, "late records", queryAll(t, st, q), append([]history.Record{old}, recs...))
}

func (s *suite) concurrentWriters(t *testing.T, st history.Store) {
	writers, per := 8, 2000/s.scale
	var want []history.Record
	for i := range per {
		at := base.Add(time.Duration(i) * 250 * time.Millisecond)
		for w := range writers {
			want = append(want, rec("team_one", fmt.Sprintf("w-%d", w), i, at))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []history.Record
			for i := w; i < len(want); i += writers {
				mine = append(mine, want[i])
			}
			for len(mine) > 0 {
				n := min(len(mine), 97)
				// Each batch also repeats the previous one's last record.
				if err := st.Write(context.Background(), mine[:n]); err != nil {
					errs <- err
					return
				}
				mine = mine[n-1:]
				if len(mine) == 1 {
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Write: %v", err)
	}
	q := history.Query{Team: "team_one", From: base, To: base.Add(24 * time.Hour), Limit: 1000}
	sameRecords(t, "concurrent writers", queryAll(t, st, q), want)
}

func (s *suite) badQueries(t *testing.T, st history.Store) {
	good := history.Query{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 10}
	for _, c := range []struct {
		field string
		edit  func(q *history.Query)
	}{
		{"team", func(q *history.Query) { q.Team = "" }},
		{"team", func(q *history.Query) { q.Team = "bad team" }},
		{"worker", func(q *history.Query) { q.Worker = "w/1" }},
		{"from", func(q *history.Query) { q.From = time.Time{} }},
		{"to", func(q *history.Query) { q.To = q.From }},
		{"limit", func(q *history.Query) { q.Limit = 0 }},
		{"cursor", func(q *history.Query) { q.Cursor = "not-a-cursor" }},
	} {
		q := good
		c.edit(&q)
		_, err := st.Query(ctx(t), q)
		var te *tracking.Error
		if !asError(err, &te) || te.Field != c.field {
			t.Errorf("query with a bad %s: error %v, want a *tracking.Error naming %s", c.field, err, c.field)
		}
	}
	if _, err := st.Query(ctx(t), good); err != nil {
		t.Fatalf("good query: %v", err)
	}
}

func (s *suite) readyClose(t *testing.T, st history.Store) {
	if err := st.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	if err := st.Write(ctx(t), []history.Record{rec("team_one", "w-1", 0, base)}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}
