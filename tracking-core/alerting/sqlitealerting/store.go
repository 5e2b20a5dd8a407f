package sqlitealerting

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/sqlitefile"
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
	db  *sqlitefile.DB
	log *slog.Logger
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
	db, err := sqlitefile.Open(ctx, sqlitefile.Config{Name: "sqlitealerting", Path: cfg.Path, BusyTimeout: cfg.BusyTimeout,
		ErrClosed: alerting.ErrClosed, Migrate: migrate})
	if err != nil {
		return nil, err
	}
	return &Store{db: db, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}, nil
}

// Ready implements alerting.Store.
func (s *Store) Ready(ctx context.Context) error { return s.db.Ready(ctx) }

// Close implements alerting.Store.
func (s *Store) Close() error { return s.db.Close() }

// wrap leaves domain errors as they are and says what failed otherwise.
func wrap(what string, err error) error {
	if err == nil || errors.Is(err, alerting.ErrClosed) || errors.Is(err, alerting.ErrLeaseLost) || isDomain(err) {
		return err
	}
	return fmt.Errorf("sqlitealerting: %s: %w", what, err)
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }
