package pghistory

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
)

var _ history.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// DSN is the connection string: postgres://user:password@host:port/db?...
	DSN string
	// Schema holds the positions table; created if missing. Default "public".
	// Tests give each case a schema of its own.
	Schema string
	// DaysAhead is how many days after today get their partition at Open
	// and at each Prune (fixes may be up to 24 h in the future). Default 2.
	DaysAhead int
	// MaxConns bounds the connection pool. Default 8.
	MaxConns int32
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is a history.Store on PostgreSQL.
type Store struct {
	cfg    Config
	pool   *pgxpool.Pool
	log    *slog.Logger
	table  string // quoted schema.positions
	closed atomic.Bool
	once   sync.Once

	copyInto  string        // COPY statement into the positions table
	fallbacks atomic.Uint64 // batches written through the staging table

	migrateMu sync.Mutex
	migrated  atomic.Bool

	mu    sync.Mutex
	known map[int64]bool // days (Unix seconds of midnight UTC) known to have a partition
}

// columns of the positions table (and of the staging table), in COPY order.
var columns = []string{"team", "worker", "id", "fix_time", "received", "lat", "lon", "accuracy", "speed", "heading", "battery"}

const columnDefs = `team text COLLATE "C" NOT NULL, worker text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
	fix_time timestamptz NOT NULL, received timestamptz NOT NULL,
	lat double precision NOT NULL, lon double precision NOT NULL,
	accuracy double precision, speed double precision, heading double precision, battery double precision`

// primaryKey is the key of a record, as pg_get_constraintdef writes it. A
// retried record has the same worker, so worker in the key costs no
// idempotence, and the key also serves the per-worker queries in their order:
// one index fewer to maintain per row than a key of (team, id, fix_time) plus
// a (team, worker, fix_time, id) index.
const primaryKey = "PRIMARY KEY (team, worker, fix_time, id)"

// Open connects to cfg.DSN and migrates the schema. A DSN that does not
// parse is an error; a server that cannot be reached is not (see the
// package doc): it is logged and the migration is retried later.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.Schema = cmp.Or(cfg.Schema, "public")
	cfg.DaysAhead = cmp.Or(max(cfg.DaysAhead, 0), 2)
	cfg.MaxConns = cmp.Or(max(cfg.MaxConns, 0), 8)
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("pghistory: %w", err) // pgx leaves the password out
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cmp.Or(pc.ConnConfig.ConnectTimeout, 5*time.Second)
	// A commit does not wait for its WAL to reach the disk: a crash of the
	// server may lose the last fraction of a second of history (never
	// corrupt it), as a crash of the replica loses its backlog anyway. A DSN
	// that sets synchronous_commit keeps its choice.
	if _, set := pc.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		pc.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pghistory: %w", err)
	}
	s := &Store{
		cfg: cfg, pool: pool, log: log, known: map[int64]bool{},
		table: pgx.Identifier{cfg.Schema, "positions"}.Sanitize(),
	}
	s.copyInto = `COPY ` + s.table + ` (` + strings.Join(columns, ", ") + `) FROM STDIN (FORMAT binary)`
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.migrate(mctx); err != nil {
		log.Error("history: PostgreSQL not ready; the migration is retried on the next write", "err", err,
			"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port, "database", pc.ConnConfig.Database)
	}
	return s, nil
}

func (s *Store) partition(day time.Time) string {
	return pgx.Identifier{s.cfg.Schema, "positions_p" + day.Format("20060102")}.Sanitize()
}

// lockKey is the advisory lock serialising DDL on this schema's table
// between replicas.
func (s *Store) lockKey() string { return "teamtrack-history:" + s.cfg.Schema }

// migrate creates the schema, the partitioned table, its indexes and the
// partitions ahead, once per Store (again after a failure).
func (s *Store) migrate(ctx context.Context) error {
	if s.migrated.Load() {
		return nil
	}
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	if s.migrated.Load() {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		stmts := []string{
			`SELECT pg_advisory_xact_lock(hashtext($1))`,
			`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.cfg.Schema}.Sanitize(),
			`CREATE TABLE IF NOT EXISTS ` + s.table + ` (` + columnDefs + `,
				` + primaryKey + `) PARTITION BY RANGE (fix_time)`,
			`CREATE INDEX IF NOT EXISTS positions_team_time ON ` + s.table + ` (team, fix_time, worker, id)`,
		}
		for i, q := range stmts {
			var args []any
			if i == 0 {
				args = []any{s.lockKey()}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return err
			}
		}
		// battery came after the first layout. ALTER TABLE takes an ACCESS
		// EXCLUSIVE lock on the table and every partition even when IF NOT
		// EXISTS finds the column, so it runs only when the column is
		// missing. On the partitioned table it adds the column to every
		// partition; nullable without a default, it rewrites nothing.
		var hasBattery bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass
			AND attname = 'battery' AND attnum > 0 AND NOT attisdropped)`, s.table).Scan(&hasBattery); err != nil {
			return err
		}
		if !hasBattery {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+s.table+` ADD COLUMN IF NOT EXISTS battery double precision`); err != nil {
				return err
			}
			s.log.Info("history: added column battery", "table", s.table)
		}
		var pk string
		if err := tx.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
			s.table).Scan(&pk); err != nil {
			return err
		}
		if pk != primaryKey {
			// Made by an earlier version: PRIMARY KEY (team, id, fix_time) and
			// a third index. Writes stay correct (a COPY that meets a key
			// falls back to ON CONFLICT DO NOTHING) but cost more.
			s.log.Warn("history: the positions table has an earlier layout; writes cost more than they need (see docs/HISTORY.md, Storage)",
				"table", s.table, "primary_key", pk, "want", primaryKey)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pghistory: migrate schema %s: %w", s.cfg.Schema, err)
	}
	s.migrated.Store(true)
	return s.ensureAhead(ctx)
}

// ensureAhead makes the partitions of today and DaysAhead days after.
func (s *Store) ensureAhead(ctx context.Context) error {
	today := history.Day(time.Now())
	for d := 0; d <= s.cfg.DaysAhead; d++ {
		if err := s.ensurePartition(ctx, today.AddDate(0, 0, d)); err != nil {
			return err
		}
	}
	return nil
}

// ensurePartition creates day's partition unless this Store knows it exists.
func (s *Store) ensurePartition(ctx context.Context, day time.Time) error {
	s.mu.Lock()
	ok := s.known[day.Unix()]
	s.mu.Unlock()
	if ok {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.lockKey()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.partition(day)+` PARTITION OF `+s.table+
			` FOR VALUES FROM ('`+day.Format(time.RFC3339)+`') TO ('`+day.AddDate(0, 0, 1).Format(time.RFC3339)+`')`)
		return err
	})
	if err != nil {
		return fmt.Errorf("pghistory: create partition %s: %w", s.partition(day), err)
	}
	s.mu.Lock()
	s.known[day.Unix()] = true
	s.mu.Unlock()
	return nil
}

// Query implements history.Store.
func (s *Store) Query(ctx context.Context, q history.Query) (history.Page, error) {
	after, err := q.Validate()
	if err != nil {
		return history.Page{}, err
	}
	if s.closed.Load() {
		return history.Page{}, history.ErrClosed
	}
	if err := s.migrate(ctx); err != nil {
		return history.Page{}, err
	}
	from := q.From.Truncate(time.Microsecond)
	if !after.IsZero() && after.Time.After(from) {
		from = after.Time // lets the planner skip earlier partitions
	}
	var sb strings.Builder
	sb.WriteString(`SELECT worker, id, fix_time, received, lat, lon, accuracy, speed, heading, battery FROM `)
	sb.WriteString(s.table)
	sb.WriteString(` WHERE team = $1 AND fix_time >= $2 AND fix_time < $3`)
	args := []any{q.Team, from, q.To.Truncate(time.Microsecond)}
	if q.Worker != "" {
		args = append(args, q.Worker)
		fmt.Fprintf(&sb, ` AND worker = $%d`, len(args))
	}
	if !after.IsZero() {
		args = append(args, after.Time, after.Worker, after.ID)
		n := len(args)
		fmt.Fprintf(&sb, ` AND (fix_time, worker, id) > ($%d, $%d, $%d)`, n-2, n-1, n)
	}
	args = append(args, q.Limit+1) // one more tells whether there is a next page
	fmt.Fprintf(&sb, ` ORDER BY fix_time, worker, id LIMIT $%d`, len(args))

	rows, err := s.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return history.Page{}, fmt.Errorf("pghistory: query: %w", err)
	}
	defer rows.Close()
	recs := make([]history.Record, 0, min(q.Limit+1, 4096))
	var (
		lastWorker                        string
		id                                string
		fix, received                     time.Time
		lat, lon                          float64
		accuracy, speed, heading, battery *float64
	)
	for rows.Next() {
		if err := rows.Scan(nil, &id, &fix, &received, &lat, &lon, &accuracy, &speed, &heading, &battery); err != nil {
			return history.Page{}, fmt.Errorf("pghistory: query: %w", err)
		}
		if w := rows.RawValues()[0]; string(w) != lastWorker { // one string per worker, not per row
			lastWorker = string(w)
		}
		var r history.Record
		r.Position.ID, r.Position.WorkerID, r.Position.Team = id, lastWorker, q.Team
		r.Position.Location = tracking.Location{Latitude: lat, Longitude: lon}
		r.Position.TimeStamp, r.Received = fix.UTC(), received.UTC()
		r.Position.Accuracy, r.Position.Speed, r.Position.Heading, r.Position.Battery = accuracy, speed, heading, battery
		accuracy, speed, heading, battery = nil, nil, nil, nil
		if len(recs) == cap(recs) {
			recs = history.Grow(recs, q.Limit+1)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return history.Page{}, fmt.Errorf("pghistory: query: %w", err)
	}
	page := history.Page{Records: recs}
	if len(recs) > q.Limit {
		page.Records = recs[:q.Limit]
		page.Next = history.KeyOf(&page.Records[q.Limit-1]).Cursor()
	}
	return page, nil
}

// partitions returns the days that have a partition, ascending.
func (s *Store) partitions(ctx context.Context) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass`, s.table)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var days []time.Time
	for _, n := range names {
		if d, err := time.Parse("20060102", strings.TrimPrefix(n, "positions_p")); err == nil && strings.HasPrefix(n, "positions_p") {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, time.Time.Compare)
	return days, nil
}

// Prune implements history.Store: DROP TABLE of every partition ending at
// or before before; then it makes the partitions ahead (it runs hourly).
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	days, err := s.partitions(ctx)
	if err != nil {
		return fmt.Errorf("pghistory: list partitions: %w", err)
	}
	for _, day := range days {
		if day.AddDate(0, 0, 1).After(before) {
			break
		}
		s.mu.Lock()
		delete(s.known, day.Unix())
		s.mu.Unlock()
		if _, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS `+s.partition(day)); err != nil {
			return fmt.Errorf("pghistory: drop partition %s: %w", s.partition(day), err)
		}
		s.log.Info("history: dropped partition", "partition", s.partition(day))
	}
	return s.ensureAhead(ctx)
}

// Ready implements history.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	return s.pool.Ping(ctx)
}

// Close implements history.Store.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}
