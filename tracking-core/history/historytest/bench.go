package historytest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/history"
)

// DayAt10Hz is one worker's day at 10 positions a second.
const DayAt10Hz = 864_000

// FillDay writes n positions of worker in team, 100 ms apart from day's
// midnight, in batches of 5,000 (for the query benchmarks).
func FillDay(tb testing.TB, st history.Store, team, worker string, day time.Time, n int) {
	tb.Helper()
	batch := make([]history.Record, 0, 5000)
	for i := range n {
		batch = append(batch, rec(team, worker, i, day.Add(time.Duration(i)*100*time.Millisecond)))
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Write(context.Background(), batch); err != nil {
				tb.Fatalf("fill: %v", err)
			}
			batch = batch[:0]
		}
	}
}

// BenchQueryGeoJSON measures querying q (one page holding all of it) and
// encoding the page as GeoJSON; want is the number of records q finds.
func BenchQueryGeoJSON(b *testing.B, st history.Store, q history.Query, want int) {
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for b.Loop() {
		p, err := st.Query(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Records) != want {
			b.Fatalf("%d records, want %d", len(p.Records), want)
		}
		cw := &countWriter{}
		if err := history.Encode(cw, history.FormatGeoJSON, p, q.Worker != ""); err != nil {
			b.Fatal(err)
		}
		bytes = cw.n
	}
	b.ReportMetric(float64(want), "records/op")
	b.ReportMetric(float64(bytes)/1e6, "MB/op")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
