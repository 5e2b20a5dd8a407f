package pgalerting

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

var _ alerting.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// DSN is the connection string: postgres://user:password@host:port/db?...
	DSN string
	// Schema holds the alert_* tables; created if missing. Default "public".
	// Tests give each case a schema of its own.
	Schema string
	// MaxConns bounds the connection pool. Default 4.
	MaxConns int32
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is an alerting.Store on PostgreSQL.
type Store struct {
	cfg    Config
	pool   *pgxpool.Pool
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once

	migrateMu sync.Mutex
	migrated  atomic.Bool

	// quoted table names
	version, definitions, events, webhooks, outbox, claims, vapid string
}

// Open connects to cfg.DSN and migrates the schema. A DSN that does not
// parse is an error; a server that cannot be reached is not (see the
// package doc).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.Schema = cmp.Or(cfg.Schema, "public")
	cfg.MaxConns = cmp.Or(max(cfg.MaxConns, 0), 4)
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgalerting: %w", err) // pgx leaves the password out
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cmp.Or(pc.ConnConfig.ConnectTimeout, 5*time.Second)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgalerting: %w", err)
	}
	q := func(name string) string { return pgx.Identifier{cfg.Schema, name}.Sanitize() }
	s := &Store{cfg: cfg, pool: pool, log: log,
		version: q("alert_version"), definitions: q("alert_definitions"), events: q("alert_events"),
		webhooks: q("alert_webhooks"), outbox: q("alert_outbox"), claims: q("alert_claims"), vapid: q("alert_vapid")}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.migrate(mctx); err != nil {
		log.Error("alerting: PostgreSQL not ready; the migration is retried on the next call", "err", err,
			"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port, "database", pc.ConnConfig.Database)
	}
	return s, nil
}

const c = `COLLATE "C"`

func (s *Store) schema() []string {
	return []string{
		`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.cfg.Schema}.Sanitize(),
		`CREATE TABLE IF NOT EXISTS ` + s.version + ` (k int PRIMARY KEY CHECK (k = 1), v bigint NOT NULL, horizon bigint NOT NULL)`,
		`INSERT INTO ` + s.version + ` (k, v, horizon) VALUES (1, 0, 0) ON CONFLICT DO NOTHING`,
		`CREATE TABLE IF NOT EXISTS ` + s.definitions + ` (team text ` + c + ` NOT NULL, kind text ` + c + ` NOT NULL,
			id text ` + c + ` NOT NULL, version bigint NOT NULL UNIQUE, updated timestamptz NOT NULL,
			deleted boolean NOT NULL, doc bytea, PRIMARY KEY (team, kind, id))`,
		`CREATE TABLE IF NOT EXISTS ` + s.events + ` (team text ` + c + ` NOT NULL, id text ` + c + ` NOT NULL,
			worker text ` + c + ` NOT NULL, kind text ` + c + ` NOT NULL, t timestamptz NOT NULL, doc bytea NOT NULL,
			PRIMARY KEY (team, id))`,
		`CREATE INDEX IF NOT EXISTS alert_events_team_time ON ` + s.events + ` (team, t, id)`,
		`CREATE INDEX IF NOT EXISTS alert_events_time ON ` + s.events + ` (t)`,
		`CREATE TABLE IF NOT EXISTS ` + s.webhooks + ` (id text ` + c + ` PRIMARY KEY, team text ` + c + ` NOT NULL,
			url text NOT NULL, secret text NOT NULL, kinds text[] NOT NULL, enabled boolean NOT NULL,
			created timestamptz NOT NULL, updated timestamptz NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS alert_webhooks_team ON ` + s.webhooks + ` (team, created, id)`,
		// The outbox and the dead letters (dead_at set) in one table. due
		// doubles as the lease: a leased row is due again when it runs out.
		`CREATE TABLE IF NOT EXISTS ` + s.outbox + ` (id bigserial PRIMARY KEY, team text ` + c + ` NOT NULL,
			webhook_id text ` + c + ` NOT NULL REFERENCES ` + s.webhooks + ` (id) ON DELETE CASCADE,
			event_id text ` + c + ` NOT NULL, event_time timestamptz NOT NULL, attempts int NOT NULL DEFAULT 0,
			due timestamptz NOT NULL, lease text, last_error text NOT NULL DEFAULT '', dead_at timestamptz,
			FOREIGN KEY (team, event_id) REFERENCES ` + s.events + ` (team, id) ON DELETE CASCADE)`,
		`CREATE INDEX IF NOT EXISTS alert_outbox_due ON ` + s.outbox + ` (due, id) WHERE dead_at IS NULL`,
		`CREATE INDEX IF NOT EXISTS alert_outbox_dead ON ` + s.outbox + ` (webhook_id, id) WHERE dead_at IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS alert_outbox_event ON ` + s.outbox + ` (team, event_id)`,
		// Claims (Store.Claim): who evaluates what, until when.
		`CREATE TABLE IF NOT EXISTS ` + s.claims + ` (name text ` + c + ` PRIMARY KEY, holder text NOT NULL,
			until timestamptz NOT NULL)`,
		// Push subscriptions are targets of the outbox too (rows of
		// alert_webhooks with target 'webpush'); these columns came after
		// the table.
		`ALTER TABLE ` + s.webhooks + ` ADD COLUMN IF NOT EXISTS target text ` + c + ` NOT NULL DEFAULT 'webhook'`,
		`ALTER TABLE ` + s.webhooks + ` ADD COLUMN IF NOT EXISTS p256dh text NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + s.webhooks + ` ADD COLUMN IF NOT EXISTS auth text NOT NULL DEFAULT ''`,
		`ALTER TABLE ` + s.webhooks + ` ADD COLUMN IF NOT EXISTS subject text NOT NULL DEFAULT ''`,
		// A team has one push subscription per endpoint (the browser's identity).
		`CREATE UNIQUE INDEX IF NOT EXISTS alert_push_endpoint ON ` + s.webhooks + ` (team, url) WHERE target = 'webpush'`,
		// The VAPID key pair of Web Push, when the service generates it.
		`CREATE TABLE IF NOT EXISTS ` + s.vapid + ` (k int PRIMARY KEY CHECK (k = 1), public text NOT NULL,
			private text NOT NULL, created timestamptz NOT NULL)`,
	}
}

// migrate creates the tables once per Store (again after a failure).
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
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "teamtrack-alerting:"+s.cfg.Schema); err != nil {
			return err
		}
		for _, q := range s.schema() {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgalerting: migrate schema %s: %w", s.cfg.Schema, err)
	}
	s.migrated.Store(true)
	return nil
}

// ready is the preamble of every method: open, migrated.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return alerting.ErrClosed
	}
	return s.migrate(ctx)
}

// tx runs f in a transaction after ready.
func (s *Store) tx(ctx context.Context, f func(tx pgx.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, f)
}

// Ready implements alerting.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return alerting.ErrClosed
	}
	return s.pool.Ping(ctx)
}

// Close implements alerting.Store.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}

func wrap(what string, err error) error {
	var te *tracking.Error
	if err == nil || errors.Is(err, alerting.ErrClosed) || errors.Is(err, alerting.ErrLeaseLost) || errors.As(err, &te) ||
		strings.HasPrefix(err.Error(), "pgalerting:") {
		return err
	}
	return fmt.Errorf("pgalerting: %s: %w", what, err)
}

func us(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
