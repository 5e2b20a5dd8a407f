package sqlitemessaging

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/sqlitefile"
)

var _ messaging.Store = (*Store)(nil)

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

// Store is a messaging.Store in one SQLite file.
type Store struct {
	db  *sqlitefile.DB
	log *slog.Logger
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS msg_messages (team TEXT NOT NULL, id TEXT NOT NULL, sender TEXT NOT NULL,
		body BLOB NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (team, id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS msg_messages_expires ON msg_messages (expires)`,
	// One row per recipient; state is messaging.State's rank. created and
	// expires are the message's, copied so that Pending and Expire read
	// one index each.
	`CREATE TABLE IF NOT EXISTS msg_recipients (team TEXT NOT NULL, id TEXT NOT NULL, worker TEXT NOT NULL,
		pos INTEGER NOT NULL, state INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
		delivered INTEGER, acked INTEGER, read_at INTEGER, expired INTEGER,
		PRIMARY KEY (team, id, worker)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS msg_recipients_pending ON msg_recipients (team, worker, created, id) WHERE state < 2`,
	`CREATE INDEX IF NOT EXISTS msg_recipients_due ON msg_recipients (expires) WHERE state < 2`,
}

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	db, err := sqlitefile.Open(ctx, sqlitefile.Config{Name: "sqlitemessaging", Path: cfg.Path, BusyTimeout: cfg.BusyTimeout,
		ErrClosed: messaging.ErrClosed, Migrate: sqlitefile.Statements(schema...)})
	if err != nil {
		return nil, err
	}
	return &Store{db: db, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}, nil
}

// Ready implements messaging.Store.
func (s *Store) Ready(ctx context.Context) error { return s.db.Ready(ctx) }

// Close implements messaging.Store.
func (s *Store) Close() error { return s.db.Close() }

// wrap leaves domain errors as they are and says what failed otherwise.
func wrap(what string, err error) error {
	var te *tracking.Error
	if err == nil || errors.Is(err, messaging.ErrClosed) || errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("sqlitemessaging: %s: %w", what, err)
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNS(n.Int64)
}
