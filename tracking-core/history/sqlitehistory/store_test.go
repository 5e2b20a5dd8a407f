package sqlitehistory_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/sqlitefile"
)

func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Store {
		s, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: filepath.Join(t.TempDir(), "history.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestTablesBeforeBatteryGetTheColumn: day tables made before battery
// existed get the column at Open (rows already there read as absent), and
// so does one made afterwards by a process of that earlier version (found by
// a query or a write).
func TestTablesBeforeBatteryGetTheColumn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day1 := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	day2, day3 := day1.AddDate(0, 0, 1), day1.AddDate(0, 0, 2)
	oldTable := func(day time.Time) string {
		tbl := "positions_" + day.Format("20060102")
		for _, q := range []string{
			`CREATE TABLE ` + tbl + ` (team TEXT NOT NULL, worker TEXT NOT NULL, id TEXT NOT NULL,
				t INTEGER NOT NULL, received INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
				accuracy REAL, speed REAL, heading REAL, PRIMARY KEY (team, worker, t, id)) WITHOUT ROWID`,
			`INSERT INTO ` + tbl + ` VALUES ('team_one', 'w-1', 'old', ` + fmt.Sprint(day.Add(time.Hour).UnixNano()) + `, ` +
				fmt.Sprint(day.Add(time.Hour).UnixNano()) + `, 1, 2, 3, NULL, 90)`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		return tbl
	}
	hasBattery := func(tbl string) bool {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = 'battery'`, tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	t1 := oldTable(day1)

	st, err := sqlitehistory.Open(ctx, sqlitehistory.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !hasBattery(t1) {
		t.Fatalf("%s has no battery column after Open", t1)
	}
	t2, t3 := oldTable(day2), oldTable(day3) // by an earlier version, after Open

	level := 42.5
	rec := func(day time.Time) history.Record {
		at := day.Add(2 * time.Hour)
		return history.Record{Position: tracking.Position{ID: "new", WorkerID: "w-1", Team: "team_one",
			Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: at, Battery: &level}, Received: at}
	}
	query := func(day time.Time) []history.Record {
		t.Helper()
		p, err := st.Query(ctx, history.Query{Team: "team_one", From: day, To: day.AddDate(0, 0, 1), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return p.Records
	}
	// day1: migrated at Open; day2: found by a query; day3: found by a write.
	if got := query(day2); len(got) != 1 || got[0].Position.ID != "old" || got[0].Position.Battery != nil || *got[0].Position.Heading != 90 {
		t.Fatalf("%s, made without battery after Open, queried: %+v", t2, got)
	}
	for _, day := range []time.Time{day1, day2, day3} {
		if err := st.Write(ctx, []history.Record{rec(day)}); err != nil {
			t.Fatalf("write into %s: %v", day.Format(time.DateOnly), err)
		}
		got := query(day)
		if len(got) != 2 || got[0].Position.ID != "old" || got[0].Position.Battery != nil ||
			got[1].Position.ID != "new" || got[1].Position.Battery == nil || *got[1].Position.Battery != level {
			t.Fatalf("%s: %+v", day.Format(time.DateOnly), got)
		}
	}
	if !hasBattery(t2) || !hasBattery(t3) {
		t.Fatalf("battery column: %s %v, %s %v", t2, hasBattery(t2), t3, hasBattery(t3))
	}
}

// TestOpenTogether: processes starting together on one new file (the
// one-command platform starts four replicas on one history file) all open
// it. Making the file WAL takes a lock that SQLite may refuse at once
// (SQLITE_BUSY) rather than wait for. The processes are this test binary
// again, opening the file named by $SQLITEHISTORY_OPEN (see init).
func TestOpenTogether(t *testing.T) {
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "history.db")
		const n = 8
		cmds := make([]*exec.Cmd, n)
		outs := make([]bytes.Buffer, n)
		for i := range cmds {
			cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
			cmds[i].Env = append(os.Environ(), "SQLITEHISTORY_OPEN="+path)
			cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("round %d, process %d: %v: %s", round, i, err, outs[i].String())
			}
		}
		if t.Failed() {
			return
		}
	}
}

// init: in a process of TestOpenTogether, open the store, close it, exit.
func init() {
	path := os.Getenv("SQLITEHISTORY_OPEN")
	if path == "" {
		return
	}
	s, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: path})
	if err == nil {
		err = s.Close()
	}
	if err == nil {
		var d *sqlitefile.DB
		d, err = sqlitefile.Open(context.Background(), sqlitefile.Config{Name: "other", Path: path,
			Migrate: sqlitefile.Statements(`CREATE TABLE IF NOT EXISTS other (k TEXT PRIMARY KEY)`)})
		if err == nil {
			err = d.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
