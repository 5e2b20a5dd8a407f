package pgmessaging

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
	"github.com/teamtrack/tracking-core/messaging"
)

var _ messaging.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// DSN is the connection string: postgres://user:password@host:port/db?...
	DSN string
	// Schema holds the msg_* tables; created if missing. Default "public".
	// Tests give each case a schema of its own.
	Schema string
	// MaxConns bounds the connection pool. Default 4.
	MaxConns int32
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is a messaging.Store on PostgreSQL.
type Store struct {
	cfg    Config
	pool   *pgxpool.Pool
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once

	migrateMu sync.Mutex
	migrated  atomic.Bool

	messages, recipients string // quoted table names
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
		return nil, fmt.Errorf("pgmessaging: %w", err) // pgx leaves the password out
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cmp.Or(pc.ConnConfig.ConnectTimeout, 5*time.Second)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgmessaging: %w", err)
	}
	q := func(name string) string { return pgx.Identifier{cfg.Schema, name}.Sanitize() }
	s := &Store{cfg: cfg, pool: pool, log: log, messages: q("msg_messages"), recipients: q("msg_recipients")}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.migrate(mctx); err != nil {
		log.Error("messaging: PostgreSQL not ready; the migration is retried on the next call", "err", err,
			"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port, "database", pc.ConnConfig.Database)
	}
	return s, nil
}

const c = `COLLATE "C"`

func (s *Store) schema() []string {
	return []string{
		`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.cfg.Schema}.Sanitize(),
		`CREATE TABLE IF NOT EXISTS ` + s.messages + ` (team text ` + c + ` NOT NULL, id text ` + c + ` NOT NULL,
			sender text NOT NULL, body bytea NOT NULL, created timestamptz NOT NULL, expires timestamptz NOT NULL,
			PRIMARY KEY (team, id))`,
		`CREATE INDEX IF NOT EXISTS msg_messages_expires ON ` + s.messages + ` (expires)`,
		// One row per recipient; state is messaging.State's rank. created
		// and expires are the message's, copied so that Pending and Expire
		// read one index each.
		`CREATE TABLE IF NOT EXISTS ` + s.recipients + ` (team text ` + c + ` NOT NULL, id text ` + c + ` NOT NULL,
			worker text ` + c + ` NOT NULL, pos int NOT NULL, state smallint NOT NULL,
			created timestamptz NOT NULL, expires timestamptz NOT NULL,
			delivered timestamptz, acked timestamptz, read_at timestamptz, expired timestamptz,
			PRIMARY KEY (team, id, worker),
			FOREIGN KEY (team, id) REFERENCES ` + s.messages + ` (team, id) ON DELETE CASCADE)`,
		`CREATE INDEX IF NOT EXISTS msg_recipients_pending ON ` + s.recipients + ` (team, worker, created, id) WHERE state < 2`,
		`CREATE INDEX IF NOT EXISTS msg_recipients_due ON ` + s.recipients + ` (expires) WHERE state < 2`,
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
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "teamtrack-messaging:"+s.cfg.Schema); err != nil {
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
		return fmt.Errorf("pgmessaging: migrate schema %s: %w", s.cfg.Schema, err)
	}
	s.migrated.Store(true)
	return nil
}

// ready is the preamble of every method: open, migrated.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return messaging.ErrClosed
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

// Ready implements messaging.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return messaging.ErrClosed
	}
	return s.pool.Ping(ctx)
}

// Close implements messaging.Store.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}

func wrap(what string, err error) error {
	var te *tracking.Error
	if err == nil || errors.Is(err, messaging.ErrClosed) || errors.As(err, &te) ||
		strings.HasPrefix(err.Error(), "pgmessaging:") {
		return err
	}
	return fmt.Errorf("pgmessaging: %s: %w", what, err)
}

// utc turns a nullable time read back into the Recipient's form.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
