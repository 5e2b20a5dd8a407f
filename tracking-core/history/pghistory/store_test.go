package pghistory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/history/pghistory"
	"github.com/teamtrack/tracking-core/testsupport"
)

const hint = "scripts/test-services.sh up postgres, then source its env file"

// openStore opens a Store in a schema of its own, dropped at the end of t.
func openStore(t testing.TB, dsn string) *pghistory.Store {
	t.Helper()
	schema := testsupport.PGSchema(t, dsn, "hist_")
	s, err := pghistory.Open(context.Background(), pghistory.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	historytest.Run(t, func(t *testing.T) history.Store { return openStore(t, dsn) })
}

// TestBatchIsOneCopyUnlessItMeetsTheKey: a new batch goes straight into the
// table; the same batch again (a retry after a timeout that had committed)
// falls back to the staging table and ON CONFLICT DO NOTHING, and stores
// nothing twice.
func TestBatchIsOneCopyUnlessItMeetsTheKey(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	st := openStore(t, dsn)
	defer st.Close()
	recs := records("team_one", 300)
	ctx := context.Background()
	if err := st.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n := st.Fallbacks(); n != 0 {
		t.Fatalf("a new batch took the staging path (%d)", n)
	}
	for range 2 {
		if err := st.Write(ctx, append(recs[:100:100], records("team_one", 310)[300:]...)); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Fallbacks(); n != 2 {
		t.Fatalf("%d batches took the staging path, want 2", n)
	}
	if got := count(t, st, "team_one"); got != 310 {
		t.Fatalf("%d records stored, want 310", got)
	}
}

// TestEarlierLayoutStillWrites: a positions table made by an earlier version
// (primary key (team, id, fix_time) and a third index) is left as it is and
// written correctly, duplicates included.
func TestEarlierLayoutStillWrites(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	st := openStore(t, dsn)
	schema := st.Schema()
	_ = st.Close()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	table := pgx.Identifier{schema, "positions"}.Sanitize()
	for _, q := range []string{
		`DROP TABLE ` + table,
		`CREATE TABLE ` + table + ` (team text COLLATE "C" NOT NULL, worker text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
			fix_time timestamptz NOT NULL, received timestamptz NOT NULL, lat double precision NOT NULL, lon double precision NOT NULL,
			accuracy double precision, speed double precision, heading double precision,
			PRIMARY KEY (team, id, fix_time)) PARTITION BY RANGE (fix_time)`,
		`CREATE INDEX positions_team_worker_time ON ` + table + ` (team, worker, fix_time, id)`,
		`CREATE INDEX positions_team_time ON ` + table + ` (team, fix_time, worker, id)`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	st, err = pghistory.Open(ctx, pghistory.Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := records("team_one", 50)
	for range 2 {
		if err := st.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, st, "team_one"); got != 50 {
		t.Fatalf("%d records stored, want 50", got)
	}
	var pk string
	if err := c.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
		table).Scan(&pk); err != nil || pk != "PRIMARY KEY (team, id, fix_time)" {
		t.Fatalf("the earlier table's key is now %q (%v)", pk, err)
	}
}

// TestTableBeforeBatteryGetsTheColumn: a positions table of the layout
// before battery, with partitions and rows, gets the column at Open, on the
// partitioned table and so on every partition (those there and those made
// later); its rows read back with no battery, new ones with theirs.
func TestTableBeforeBatteryGetsTheColumn(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	st := openStore(t, dsn)
	schema := st.Schema()
	_ = st.Close()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	table := pgx.Identifier{schema, "positions"}.Sanitize()
	at := time.Now().UTC().Truncate(time.Hour)
	day := at.Truncate(24 * time.Hour)
	today := pgx.Identifier{schema, "positions_p" + day.Format("20060102")}.Sanitize()
	for _, q := range []string{
		`DROP TABLE ` + table,
		`CREATE TABLE ` + table + ` (team text COLLATE "C" NOT NULL, worker text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
			fix_time timestamptz NOT NULL, received timestamptz NOT NULL, lat double precision NOT NULL, lon double precision NOT NULL,
			accuracy double precision, speed double precision, heading double precision,
			PRIMARY KEY (team, worker, fix_time, id)) PARTITION BY RANGE (fix_time)`,
		`CREATE INDEX positions_team_time ON ` + table + ` (team, fix_time, worker, id)`,
		`CREATE TABLE ` + today + ` PARTITION OF ` + table + ` FOR VALUES FROM ('` + day.Format(time.RFC3339) +
			`') TO ('` + day.Add(24*time.Hour).Format(time.RFC3339) + `')`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Exec(ctx, `INSERT INTO `+table+` VALUES ('team_one', 'w-1', 'old', $1, $1, 1, 2, 3, NULL, 90)`, at); err != nil {
		t.Fatal(err)
	}
	st, err = pghistory.Open(ctx, pghistory.Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	level := 42.5
	recs := records("team_one", 2)
	recs[0].Position.Battery = &level
	recs[1].Position.TimeStamp = day.Add(36 * time.Hour) // in a partition made after the migration
	if err := st.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	p, err := st.Query(ctx, history.Query{Team: "team_one", From: at.Add(-time.Hour), To: day.Add(48 * time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tracking.Position{}
	for _, r := range p.Records {
		got[r.Position.ID] = r.Position
	}
	if o, ok := got["old"]; !ok || o.Battery != nil || o.Heading == nil || *o.Heading != 90 || len(got) != 3 {
		t.Fatalf("records %+v", p.Records)
	}
	if n := got[recs[0].Position.ID]; n.Battery == nil || *n.Battery != level || got[recs[1].Position.ID].Battery != nil {
		t.Fatalf("records %+v", p.Records)
	}
	rows, err := c.Query(ctx, `SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'battery'
		AND NOT a.attisdropped AND a.atttypid = 'float8'::regtype AND NOT a.attnotnull)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, schema)
	if err != nil {
		t.Fatal(err)
	}
	has, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Name string
		Has  bool
	}])
	if err != nil {
		t.Fatal(err)
	}
	if len(has) < 3 { // positions, today's partition (made before), tomorrow's (made after)
		t.Fatalf("tables %+v", has)
	}
	for _, h := range has {
		if !h.Has {
			t.Errorf("%s has no nullable double precision battery column", h.Name)
		}
	}
}

// records returns n records of one worker of team, a second apart.
func records(team string, n int) []history.Record {
	at := time.Now().UTC().Truncate(time.Hour)
	recs := make([]history.Record, n)
	for i := range recs {
		recs[i] = history.Record{Position: tracking.Position{ID: fmt.Sprintf("p-%04d", i), WorkerID: "w-1", Team: team,
			Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: at.Add(time.Duration(i) * time.Second)}, Received: at}
	}
	return recs
}

// count is the number of team's records of the last two hours.
func count(t *testing.T, st history.Store, team string) int {
	t.Helper()
	now := time.Now()
	p, err := st.Query(context.Background(), history.Query{Team: team, From: now.Add(-2 * time.Hour), To: now.Add(2 * time.Hour), Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Records)
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := pghistory.Open(context.Background(), pghistory.Config{DSN: "postgres://u:secret@host:notaport/db"})
	if err == nil {
		t.Fatal("Open with a bad port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("the error shows the password: %s", s)
	}
}
