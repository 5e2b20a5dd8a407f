package sqlitehistory_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
)

func benchDay(b *testing.B, window time.Duration) {
	st, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: filepath.Join(b.TempDir(), "h.db")})
	if err != nil {
		b.Fatal(err)
	}
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
