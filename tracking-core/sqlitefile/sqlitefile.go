// Package sqlitefile opens a SQLite file the way the platform's embedded
// stores (alerting, messaging, devices; the history's SQLite store has its
// own, with one table per day) share one: WAL, one writer connection whose
// transactions take the write lock at once (BEGIN IMMEDIATE, so that two
// writers queue on busy_timeout instead of failing on an upgrade), a few
// readers, and the store's schema migrated in one write transaction. It is
// the pure-Go driver modernc.org/sqlite: no cgo.
package sqlitefile

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // and the database/sql driver "sqlite"
)

// DB is one store's connections to its file.
type DB struct {
	W *sql.DB // the one writer connection
	R *sql.DB // readers

	errClosed error
	closed    atomic.Bool
	once      sync.Once
}

// Config of Open.
type Config struct {
	// Name prefixes errors: the store's package ("sqlitemessaging").
	Name string
	// Path is the database file, created (with its directory) if missing.
	Path string
	// BusyTimeout is how long a statement waits for another writer's lock.
	// Default 10s.
	BusyTimeout time.Duration
	// ErrClosed is what Tx and Ready return after Close (the store's own).
	ErrClosed error
	// Migrate creates or updates the store's tables, in a write transaction.
	Migrate func(ctx context.Context, tx *sql.Tx) error
}

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("%s: no database path", cfg.Name)
	}
	busy := cmp.Or(max(cfg.BusyTimeout, 0), 10*time.Second)
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s: create directory of %s: %w", cfg.Name, cfg.Path, err)
		}
	}
	pragmas := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
	}}
	base := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath()
	w, err := sql.Open("sqlite", base+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", cfg.Name, cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := Ping(ctx, w, busy); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("%s: open %s: %w", cfg.Name, cfg.Path, err)
	}
	r, err := sql.Open("sqlite", base+"?"+pragmas.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("%s: open %s: %w", cfg.Name, cfg.Path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	d := &DB{W: w, R: r, errClosed: cmp.Or(cfg.ErrClosed, errors.New(cfg.Name+": closed"))}
	if cfg.Migrate != nil {
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return cfg.Migrate(ctx, tx) }); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("%s: migrate %s: %w", cfg.Name, cfg.Path, err)
		}
	}
	return d, nil
}

// Ping makes db's first connection, which sets its pragmas. Turning a new
// file to WAL takes a lock that SQLite refuses at once (SQLITE_BUSY, without
// waiting out busy_timeout) while another connection holds one, as when
// processes start together on one file and migrate it: Ping tries again,
// after a growing pause, until busy has passed.
func Ping(ctx context.Context, db *sql.DB, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !IsBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(pause/2 + rand.N(pause))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// IsBusy says whether err is SQLite's SQLITE_BUSY (any extended code).
func IsBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == 5 // SQLITE_BUSY
}

// Statements is a Migrate that runs each statement in order.
func Statements(stmts ...string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
}

// Tx runs f in a write transaction (BEGIN IMMEDIATE), committed when f
// returns nil.
func (d *DB) Tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if d.closed.Load() {
		return d.errClosed
	}
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Closed reports whether Close was called.
func (d *DB) Closed() bool { return d.closed.Load() }

// Ready returns nil when the file answers.
func (d *DB) Ready(ctx context.Context) error {
	if d.closed.Load() {
		return d.errClosed
	}
	return d.W.PingContext(ctx)
}

// Close closes the connections. It is idempotent.
func (d *DB) Close() error {
	var err error
	d.once.Do(func() {
		d.closed.Store(true)
		err = errors.Join(d.R.Close(), d.W.Close())
	})
	return err
}
