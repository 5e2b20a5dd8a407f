package sqlitealerting

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
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/teamtrack/tracking-core/alerting"
)

var _ alerting.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// Path is the database file, created (with its directory) if missing;
	// the history's file when they share HISTORY_DSN.
	Path string
	// BusyTimeout is how long a statement waits for another writer's lock.
	// Default 10s.
	BusyTimeout time.Duration
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is an alerting.Store in one SQLite file.
type Store struct {
	w, r   *sql.DB // w: the one writer connection; r: readers
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once
}

var schema = []string{
	// One row: the version counter of definitions (a write takes the next
	// value in its transaction) and the highest version Prune removed.
	`CREATE TABLE IF NOT EXISTS alert_version (k INTEGER PRIMARY KEY CHECK (k = 1), v INTEGER NOT NULL, horizon INTEGER NOT NULL)`,
	`INSERT OR IGNORE INTO alert_version (k, v, horizon) VALUES (1, 0, 0)`,
	`CREATE TABLE IF NOT EXISTS alert_definitions (team TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
		version INTEGER NOT NULL UNIQUE, updated INTEGER NOT NULL, deleted INTEGER NOT NULL, doc BLOB,
		PRIMARY KEY (team, kind, id)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS alert_events (team TEXT NOT NULL, id TEXT NOT NULL, worker TEXT NOT NULL,
		kind TEXT NOT NULL, t INTEGER NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (team, id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS alert_events_team_time ON alert_events (team, t, id)`,
	`CREATE INDEX IF NOT EXISTS alert_events_time ON alert_events (t)`,
	// kinds: "" (every kind) or ",enter,exit," (matched with instr).
	`CREATE TABLE IF NOT EXISTS alert_webhooks (id TEXT PRIMARY KEY, team TEXT NOT NULL, url TEXT NOT NULL,
		secret TEXT NOT NULL, kinds TEXT NOT NULL, enabled INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS alert_webhooks_team ON alert_webhooks (team, created, id)`,
	// The outbox and the dead letters (dead_at set) in one table: a replay
	// is an UPDATE. due doubles as the lease: a leased row is due again when
	// its lease runs out.
	`CREATE TABLE IF NOT EXISTS alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, team TEXT NOT NULL,
		webhook_id TEXT NOT NULL, event_id TEXT NOT NULL, event_time INTEGER NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL, lease TEXT,
		last_error TEXT NOT NULL DEFAULT '', dead_at INTEGER)`,
	`CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (due) WHERE dead_at IS NULL`,
	`CREATE INDEX IF NOT EXISTS alert_outbox_dead ON alert_outbox (webhook_id, id) WHERE dead_at IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS alert_outbox_lease ON alert_outbox (lease) WHERE lease IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS alert_outbox_event_time ON alert_outbox (event_time)`,
	// Claims (Store.Claim): who evaluates what, until when.
	`CREATE TABLE IF NOT EXISTS alert_claims (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID`,
	// The VAPID key pair of Web Push, when the service generates it.
	`CREATE TABLE IF NOT EXISTS alert_vapid (k INTEGER PRIMARY KEY CHECK (k = 1), public TEXT NOT NULL,
		private TEXT NOT NULL, created INTEGER NOT NULL)`,
}

// targetColumns are the columns of alert_webhooks added for push
// subscriptions (a target is a webhook or a push subscription), added to a
// table made before them by ALTER TABLE (which SQLite cannot make
// idempotent: pragma_table_info says what is missing).
var targetColumns = []struct{ name, def string }{
	{"target", `TEXT NOT NULL DEFAULT 'webhook'`},
	{"p256dh", `TEXT NOT NULL DEFAULT ''`},
	{"auth", `TEXT NOT NULL DEFAULT ''`},
	{"subject", `TEXT NOT NULL DEFAULT ''`},
}

// afterColumns run once targetColumns exist.
var afterColumns = []string{
	// A team has one push subscription per endpoint (the browser's identity).
	`CREATE UNIQUE INDEX IF NOT EXISTS alert_push_endpoint ON alert_webhooks (team, url) WHERE target = 'webpush'`,
}

func migrate(ctx context.Context, tx *sql.Tx) error {
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for _, c := range targetColumns {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('alert_webhooks') WHERE name = ?`, c.name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE alert_webhooks ADD COLUMN `+c.name+` `+c.def); err != nil {
				return err
			}
		}
	}
	for _, q := range afterColumns {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlitealerting: no database path")
	}
	cfg.BusyTimeout = cmp.Or(max(cfg.BusyTimeout, 0), 10*time.Second)
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlitealerting: create directory of %s: %w", cfg.Path, err)
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
		return nil, fmt.Errorf("sqlitealerting: open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", base+"?"+pragmas.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitealerting: open %s: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &Store{w: w, r: r, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return migrate(ctx, tx) }); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqlitealerting: migrate %s: %w", cfg.Path, err)
	}
	return s, nil
}

// tx runs f in a write transaction (BEGIN IMMEDIATE).
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return alerting.ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ready implements alerting.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return alerting.ErrClosed
	}
	return s.w.PingContext(ctx)
}

// Close implements alerting.Store.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		err = errors.Join(s.r.Close(), s.w.Close())
	})
	return err
}

// wrap leaves domain errors as they are and says what failed otherwise.
func wrap(what string, err error) error {
	if err == nil || errors.Is(err, alerting.ErrClosed) || errors.Is(err, alerting.ErrLeaseLost) || isDomain(err) {
		return err
	}
	return fmt.Errorf("sqlitealerting: %s: %w", what, err)
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }
