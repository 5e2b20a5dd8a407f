package sqlitedevices

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

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
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
	w, r   *sql.DB // w: the one writer connection; r: readers
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once
}

var schema = []string{
	// secret is devices.Device.SecretHash, NULL for none.
	`CREATE TABLE IF NOT EXISTS dev_devices (id TEXT NOT NULL PRIMARY KEY, team TEXT NOT NULL, worker TEXT NOT NULL,
		label TEXT NOT NULL, secret BLOB, created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS dev_devices_team ON dev_devices (team, id)`,
}

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlitedevices: no database path")
	}
	cfg.BusyTimeout = cmp.Or(max(cfg.BusyTimeout, 0), 10*time.Second)
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlitedevices: create directory of %s: %w", cfg.Path, err)
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
		return nil, fmt.Errorf("sqlitedevices: open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", base+"?"+pragmas.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlitedevices: open %s: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &Store{w: w, r: r, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range schema {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqlitedevices: migrate %s: %w", cfg.Path, err)
	}
	return s, nil
}

// tx runs f in a write transaction (BEGIN IMMEDIATE).
func (s *Store) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return devices.ErrClosed
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

// Ready implements devices.Store.
func (s *Store) Ready(ctx context.Context) error {
	if s.closed.Load() {
		return devices.ErrClosed
	}
	return s.w.PingContext(ctx)
}

// Close implements devices.Store.
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
	var te *tracking.Error
	if err == nil || errors.Is(err, devices.ErrClosed) || errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("sqlitedevices: %s: %w", what, err)
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }
