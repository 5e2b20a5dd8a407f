package sqlitedevices

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/sqlitefile"
)

var _ devices.Store = (*Store)(nil)

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

// Store is a devices.Store in one SQLite file.
type Store struct {
	db  *sqlitefile.DB
	log *slog.Logger
}

var schema = []string{
	// secret is devices.Device.SecretHash, NULL for none.
	`CREATE TABLE IF NOT EXISTS dev_devices (id TEXT NOT NULL PRIMARY KEY, team TEXT NOT NULL, worker TEXT NOT NULL,
		label TEXT NOT NULL, secret BLOB, created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS dev_devices_team ON dev_devices (team, id)`,
}

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	db, err := sqlitefile.Open(ctx, sqlitefile.Config{Name: "sqlitedevices", Path: cfg.Path, BusyTimeout: cfg.BusyTimeout,
		ErrClosed: devices.ErrClosed, Migrate: sqlitefile.Statements(schema...)})
	if err != nil {
		return nil, err
	}
	return &Store{db: db, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}, nil
}

// Ready implements devices.Store.
func (s *Store) Ready(ctx context.Context) error { return s.db.Ready(ctx) }

// Close implements devices.Store.
func (s *Store) Close() error { return s.db.Close() }

// wrap leaves domain errors as they are and says what failed otherwise.
func wrap(what string, err error) error {
	var te *tracking.Error
	if err == nil || errors.Is(err, devices.ErrClosed) || errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("sqlitedevices: %s: %w", what, err)
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }
