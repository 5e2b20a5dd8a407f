package sqlitehistory

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/sqlitefile"
)

var _ history.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// Path is the database file, created (with its directory) if missing.
	Path string
	// Readers is the most concurrent queries. Default 4.
	Readers int
	// BusyTimeout is how long a statement waits for another writer's lock
	// (another process sharing the file). Default 10s.
	BusyTimeout time.Duration
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is a history.Store in one SQLite file.
type Store struct {
	w, r   *sql.DB // w: the one writer connection; r: readers
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once

	mu    sync.Mutex
	known map[int64]bool // days (Unix seconds of midnight UTC) whose table this process made or saw
}

// Open opens (creating if needed) the database at cfg.Path.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlitehistory: no database path")
	}
	cfg.Readers = cmp.Or(max(cfg.Readers, 0), 4)
	cfg.BusyTimeout = cmp.Or(max(cfg.BusyTimeout, 0), 10*time.Second)
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlitehistory: create directory of %s: %w", cfg.Path, err)
		}
	}
	pragmas := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
	}}
	base := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath()
	w, err := sql.Open("sqlite", base+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitehistory: open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1) // one writer
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := sqlitefile.Ping(ctx, w, cfg.BusyTimeout); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitehistory: open %s: %w", cfg.Path, err)
	}
	pragmas["_pragma"] = append(pragmas["_pragma"], "query_only(1)")
	r, err := sql.Open("sqlite", base+"?"+pragmas.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitehistory: open %s: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	s := &Store{w: w, r: r, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), known: map[int64]bool{}}
	if err := s.upgradeTables(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqlitehistory: migrate %s: %w", cfg.Path, err)
	}
	return s, nil
}

// dbtx is what a *sql.DB and a *sql.Tx have in common that the store uses.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// upgradeTables brings every day table up to the current layout (see
// addMissingColumns), in one write transaction.
func (s *Store) upgradeTables(ctx context.Context) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	days, err := s.days(ctx, tx)
	if err != nil {
		return err
	}
	for _, d := range days {
		if err := addMissingColumns(ctx, tx, tableName(d)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// addMissingColumns adds to table t the columns added since the first
// layout: battery (nullable, so existing rows read as absent; SQLite only
// edits the schema). The writer's transactions are BEGIN IMMEDIATE, so two
// processes sharing the file cannot both add it.
func addMissingColumns(ctx context.Context, db dbtx, t string) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = 'battery'`, t).Scan(&n); err != nil {
		return fmt.Errorf("columns of %s: %w", t, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE `+t+` ADD COLUMN battery REAL`); err != nil {
		return fmt.Errorf("add column battery to %s: %w", t, err)
	}
	return nil
}

func tableName(day time.Time) string { return "positions_" + day.Format("20060102") }

// dayOfTable parses a day table's name.
func dayOfTable(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, "positions_")
	if !ok || len(s) != 8 {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", s)
	return d, err == nil
}

// ensureTable creates day's table and indexes if this process has not seen it.
func (s *Store) ensureTable(ctx context.Context, tx *sql.Tx, day time.Time) error {
	s.mu.Lock()
	ok := s.known[day.Unix()]
	s.mu.Unlock()
	if ok {
		return nil
	}
	t := tableName(day)
	// The primary key is the idempotency key and, the table being WITHOUT
	// ROWID, the order rows are kept in: one worker's records are adjacent,
	// in query order. The index serves the whole-team query in its order.
	// (A table made by an earlier version keeps its key (team, id, t) and a
	// third index, (team, worker, t, id); one made before battery existed
	// gets the column here, should another process of that version have made
	// it since Open.)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (team TEXT NOT NULL, worker TEXT NOT NULL, id TEXT NOT NULL,
			t INTEGER NOT NULL, received INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
			accuracy REAL, speed REAL, heading REAL, battery REAL, PRIMARY KEY (team, worker, t, id)) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_team_time ON ` + t + ` (team, t, worker, id)`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create partition %s: %w", t, err)
		}
	}
	if err := addMissingColumns(ctx, tx, t); err != nil {
		return err
	}
	s.mu.Lock()
	s.known[day.Unix()] = true
	s.mu.Unlock()
	return nil
}

// Write implements history.Store: INSERT OR IGNORE in one transaction.
func (s *Store) Write(ctx context.Context, recs []history.Record) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	err := s.write(ctx, recs)
	if err != nil && (strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "no column named")) {
		// Another process pruned a day this one had seen (or, of an earlier
		// version, pruned and made it again without battery): forget and retry.
		s.mu.Lock()
		clear(s.known)
		s.mu.Unlock()
		err = s.write(ctx, recs)
	}
	if err != nil {
		return fmt.Errorf("sqlitehistory: write %d records: %w", len(recs), err)
	}
	return nil
}

func (s *Store) write(ctx context.Context, recs []history.Record) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// Group by day: one prepared statement per partition.
	byDay := map[int64][]int{}
	var days []int64
	for i := range recs {
		d := history.Day(recs[i].Position.TimeStamp).Unix()
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], i)
	}
	for _, d := range days {
		day := time.Unix(d, 0).UTC()
		if err := s.ensureTable(ctx, tx, day); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO `+tableName(day)+
			` (team, worker, id, t, received, lat, lon, accuracy, speed, heading, battery) VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		for _, i := range byDay[d] {
			p := &recs[i].Position
			if _, err := stmt.ExecContext(ctx, p.Team, p.WorkerID, p.ID, p.TimeStamp.UnixNano(), recs[i].Received.UnixNano(),
				p.Location.Latitude, p.Location.Longitude, nullable(p.Accuracy), nullable(p.Speed), nullable(p.Heading),
				nullable(p.Battery)); err != nil {
				_ = stmt.Close()
				return err
			}
		}
		if err := stmt.Close(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func nullable(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// days returns the days that have a table, ascending.
func (s *Store) days(ctx context.Context, db dbtx) ([]time.Time, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'positions_[0-9]*'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var days []time.Time
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if d, ok := dayOfTable(name); ok {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, time.Time.Compare)
	return days, rows.Err()
}

// Query implements history.Store: the day tables that overlap the range,
// in order, each read in query order until the page is full.
func (s *Store) Query(ctx context.Context, q history.Query) (history.Page, error) {
	after, err := q.Validate()
	if err != nil {
		return history.Page{}, err
	}
	if s.closed.Load() {
		return history.Page{}, history.ErrClosed
	}
	days, err := s.days(ctx, s.r)
	if err != nil {
		return history.Page{}, fmt.Errorf("sqlitehistory: list partitions: %w", err)
	}
	from := q.From
	if !after.IsZero() && after.Time.After(from) {
		from = after.Time
	}
	want := q.Limit + 1 // one more tells whether there is a next page
	recs := make([]history.Record, 0, min(want, 4096))
	for _, day := range days {
		if !day.Add(24*time.Hour).After(from) || !day.Before(q.To) {
			continue
		}
		n := len(recs)
		recs, err = s.queryDay(ctx, day, q, from, after, recs, want-n)
		if err != nil && strings.Contains(err.Error(), "no such column") {
			// A table made since Open by a process of an earlier version,
			// without battery: add it, and read the day again.
			if err = addMissingColumns(ctx, s.w, tableName(day)); err == nil {
				recs, err = s.queryDay(ctx, day, q, from, after, recs[:n], want-n)
			}
		}
		if err != nil {
			return history.Page{}, fmt.Errorf("sqlitehistory: query %s: %w", tableName(day), err)
		}
		if len(recs) == want {
			break
		}
	}
	page := history.Page{Records: recs}
	if len(recs) > q.Limit {
		page.Records = recs[:q.Limit]
		page.Next = history.KeyOf(&page.Records[q.Limit-1]).Cursor()
	}
	return page, nil
}

func (s *Store) queryDay(ctx context.Context, day time.Time, q history.Query, from time.Time, after history.Key,
	recs []history.Record, limit int) ([]history.Record, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT worker, id, t, received, lat, lon, accuracy, speed, heading, battery FROM `)
	sb.WriteString(tableName(day))
	sb.WriteString(` WHERE team = ? AND t >= ? AND t < ?`)
	args := []any{q.Team, from.UnixNano(), q.To.UnixNano()}
	if q.Worker != "" {
		sb.WriteString(` AND worker = ?`)
		args = append(args, q.Worker)
	}
	if !after.IsZero() {
		sb.WriteString(` AND (t, worker, id) > (?, ?, ?)`)
		args = append(args, after.Time.UnixNano(), after.Worker, after.ID)
	}
	sb.WriteString(` ORDER BY t, worker, id LIMIT ?`)
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return recs, err
	}
	defer rows.Close()
	var (
		worker                            sql.RawBytes
		lastWorker                        string
		id                                string
		t, received                       int64
		lat, lon                          float64
		accuracy, speed, heading, battery sql.NullFloat64
	)
	for rows.Next() {
		if err := rows.Scan(&worker, &id, &t, &received, &lat, &lon, &accuracy, &speed, &heading, &battery); err != nil {
			return recs, err
		}
		if string(worker) != lastWorker { // one string per worker, not per row
			lastWorker = string(worker)
		}
		var r history.Record
		r.Position.ID, r.Position.WorkerID, r.Position.Team = id, lastWorker, q.Team
		r.Position.Location.Latitude, r.Position.Location.Longitude = lat, lon
		r.Position.TimeStamp, r.Received = time.Unix(0, t).UTC(), time.Unix(0, received).UTC()
		r.Position.Accuracy, r.Position.Speed, r.Position.Heading = ptr(accuracy), ptr(speed), ptr(heading)
		r.Position.Battery = ptr(battery)
		if len(recs) == cap(recs) {
			recs = history.Grow(recs, q.Limit+1)
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

func ptr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

// Prune implements history.Store: DROP TABLE of every day ending at or
// before before.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	days, err := s.days(ctx, s.w)
	if err != nil {
		return fmt.Errorf("sqlitehistory: list partitions: %w", err)
	}
	for _, day := range days {
		if day.Add(24 * time.Hour).After(before) {
			break
		}
		s.mu.Lock()
		delete(s.known, day.Unix())
		s.mu.Unlock()
		if _, err := s.w.ExecContext(ctx, `DROP TABLE IF EXISTS `+tableName(day)); err != nil {
			return fmt.Errorf("sqlitehistory: drop partition %s: %w", tableName(day), err)
		}
		s.log.Info("history: dropped partition", "table", tableName(day))
	}
	return nil
}

// Ready implements history.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	return s.w.PingContext(ctx)
}

// Close implements history.Store.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		err = errors.Join(s.r.Close(), s.w.Close())
	})
	return err
}
