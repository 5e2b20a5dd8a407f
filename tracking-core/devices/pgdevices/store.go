package pgdevices

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
	"github.com/teamtrack/tracking-core/devices"
)

var _ devices.Store = (*Store)(nil)

// Config of a Store.
type Config struct {
	// DSN is the connection string: postgres://user:password@host:port/db?...
	DSN string
	// Schema holds the dev_* table; created if missing. Default "public".
	// Tests give each case a schema of its own.
	Schema string
	// MaxConns bounds the connection pool. Default 4.
	MaxConns int32
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// Store is a devices.Store on PostgreSQL.
type Store struct {
	cfg    Config
	pool   *pgxpool.Pool
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once

	migrateMu sync.Mutex
	migrated  atomic.Bool

	devices string // quoted table name
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
		return nil, fmt.Errorf("pgdevices: %w", err) // pgx leaves the password out
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cmp.Or(pc.ConnConfig.ConnectTimeout, 5*time.Second)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgdevices: %w", err)
	}
	s := &Store{cfg: cfg, pool: pool, log: log, devices: pgx.Identifier{cfg.Schema, "dev_devices"}.Sanitize()}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.migrate(mctx); err != nil {
		log.Error("devices: PostgreSQL not ready; the migration is retried on the next call", "err", err,
			"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port, "database", pc.ConnConfig.Database)
	}
	return s, nil
}

const c = `COLLATE "C"`

func (s *Store) schema() []string {
	return []string{
		`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.cfg.Schema}.Sanitize(),
		// secret is devices.Device.SecretHash, NULL for none.
		`CREATE TABLE IF NOT EXISTS ` + s.devices + ` (id text ` + c + ` NOT NULL PRIMARY KEY,
			team text ` + c + ` NOT NULL, worker text ` + c + ` NOT NULL, label text NOT NULL, secret bytea,
			created timestamptz NOT NULL, updated timestamptz NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS dev_devices_team ON ` + s.devices + ` (team, id)`,
	}
}

// migrate creates the table once per Store (again after a failure).
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
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "teamtrack-devices:"+s.cfg.Schema); err != nil {
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
		return fmt.Errorf("pgdevices: migrate schema %s: %w", s.cfg.Schema, err)
	}
	s.migrated.Store(true)
	return nil
}

// ready is the preamble of every method: open, migrated.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return devices.ErrClosed
	}
	return s.migrate(ctx)
}

// Ready implements devices.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return devices.ErrClosed
	}
	return s.pool.Ping(ctx)
}

// Close implements devices.Store.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}

func wrap(what string, err error) error {
	var te *tracking.Error
	if err == nil || errors.Is(err, devices.ErrClosed) || errors.As(err, &te) ||
		strings.HasPrefix(err.Error(), "pgdevices:") {
		return err
	}
	return fmt.Errorf("pgdevices: %s: %w", what, err)
}
