package pghistory_test

import (
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// BenchmarkWriterThroughput adds b.N records (500 workers of one team)
// through a Writer with the default batch size into the real server; the
// adder keeps the backlog under half full so that nothing is dropped. The
// figure is records/s from the first Add to the last record written.
func BenchmarkWriterThroughput(b *testing.B) {
	dsn := testsupport.Env(b, "TEST_POSTGRES_DSN", hint)
	st := openStore(b, dsn)
	defer st.Close()
	w := history.NewWriter(st, history.WriterConfig{Backlog: 100_000})
	defer w.Close()
	start := time.Now().UTC().Truncate(time.Hour)
	recs := make([]history.Record, 1000)
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; {
		for w.Stats().Backlog > 50_000 {
			time.Sleep(time.Millisecond) // a producer pacing itself, not synchronisation
		}
		n := min(len(recs), b.N-i)
		for j := range n {
			k := i + j
			at := start.Add(time.Duration(k) * time.Millisecond)
			recs[j] = history.Record{Position: tracking.Position{
				ID: fmt.Sprintf("p-%09d", k), WorkerID: fmt.Sprintf("w-%03d", k%500), Team: "team_one",
				Location: tracking.Location{Latitude: -23.5, Longitude: -46.6}, TimeStamp: at,
			}, Received: at}
		}
		w.Add(recs[:n]...)
		i += n
	}
	for w.Stats().Written < uint64(b.N) {
		if w.Stats().Dropped > 0 {
			b.Fatalf("dropped: %+v", w.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "records/s")
}

func benchDay(b *testing.B, window time.Duration) {
	dsn := testsupport.Env(b, "TEST_POSTGRES_DSN", hint)
	st := openStore(b, dsn)
	defer st.Close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	historytest.FillDay(b, st, "team_one", "w-1", day, historytest.DayAt10Hz)
	from := day.Add(9 * time.Hour)
	if window == 24*time.Hour {
		from = day
	}
	want := int(window / (100 * time.Millisecond))
	historytest.BenchQueryGeoJSON(b, st, history.Query{Team: "team_one", Worker: "w-1", From: from, To: from.Add(window), Limit: want}, want)
}

// BenchmarkDayGeoJSON: one worker's day at 10 Hz (864,000 positions) in one
// query, encoded as GeoJSON.
func BenchmarkDayGeoJSON(b *testing.B) { benchDay(b, 24*time.Hour) }

// BenchmarkHourGeoJSON: one hour (36,000 positions) of that day.
func BenchmarkHourGeoJSON(b *testing.B) { benchDay(b, time.Hour) }
