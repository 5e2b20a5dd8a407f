package pghistory_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// BenchmarkWriterThroughput adds b.N records (500 workers of one team,
// made before the timer starts) through a Writer into the real server, with
// the default batch size and writes in flight and with other settings; the
// adder keeps the backlog under half full so that nothing is dropped.
// records/s is from the first Add to the last record written; cpu-µs/record
// is this process's CPU (the Writer, the encoding, pgx) and pg-µs/record
// that of the server's backends serving the Writer (when the server runs on
// this machine: read from /proc).
func BenchmarkWriterThroughput(b *testing.B) {
	for _, c := range []struct {
		name          string
		batch, writes int
	}{
		{"defaults", 0, 0},
		{"batch=1000/writes=1", 1000, 1},
		{"batch=5000/writes=2", 5000, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchWriter(b, history.WriterConfig{Backlog: 100_000, Batch: c.batch, Writes: c.writes})
		})
	}
}

func benchWriter(b *testing.B, cfg history.WriterConfig) {
	dsn := testsupport.Env(b, "TEST_POSTGRES_DSN", hint)
	app := fmt.Sprintf("bench_writer_%d", time.Now().UnixNano())
	st := openStore(b, dsn+map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")]+"application_name="+app)
	defer st.Close()
	w := history.NewWriter(st, cfg)
	defer w.Close()
	start := time.Now().UTC().Truncate(time.Hour)
	recs := make([]history.Record, b.N)
	for k := range recs {
		at := start.Add(time.Duration(k) * time.Millisecond)
		recs[k] = history.Record{Position: tracking.Position{
			ID: fmt.Sprintf("p-%09d", k), WorkerID: fmt.Sprintf("w-%03d", k%500), Team: "team_one",
			Location: tracking.Location{Latitude: -23.5, Longitude: -46.6}, TimeStamp: at,
		}, Received: at}
	}
	pg0 := backendsCPU(b, dsn, app)
	cpu0 := processCPU()
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; {
		for w.Stats().Backlog > 50_000 {
			time.Sleep(time.Millisecond) // a producer pacing itself, not synchronisation
		}
		n := min(1000, b.N-i)
		w.Add(recs[i : i+n]...)
		i += n
	}
	for w.Stats().Written < uint64(b.N) {
		if w.Stats().Dropped > 0 {
			b.Fatalf("dropped: %+v", w.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "records/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/record")
	if pg0 >= 0 {
		if pg := backendsCPU(b, dsn, app); pg >= 0 {
			b.ReportMetric(float64((pg-pg0).Microseconds())/float64(b.N), "pg-µs/record")
		}
	}
}

// processCPU is the user and system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU sums the CPU time of the server processes serving connections
// named app, read from /proc; -1 when they cannot be read (another machine).
func backendsCPU(b *testing.B, dsn, app string) time.Duration {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	rows, _ := c.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// Fields after the command (in parentheses): utime and stime are the
		// 12th and 13th, in clock ticks (100 a second on Linux).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		for _, i := range []int{11, 12} {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
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
