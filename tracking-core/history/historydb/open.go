// Package historydb opens the history.Store a DSN names. It is apart from
// package history because it imports both backends, which import history.
package historydb

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/pghistory"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/storedsn"
)

// Option tunes Open.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger gives the store a logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (PostgreSQL, pghistory), "sqlite:path" (a SQLite file, sqlitehistory).
// Anything else is an error naming the scheme.
func Open(ctx context.Context, dsn string, opts ...Option) (history.Store, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	o.log = cmp.Or(o.log, slog.New(slog.DiscardHandler))
	kind, path, err := storedsn.Parse("history", dsn)
	if err != nil {
		return nil, err
	}
	if kind == storedsn.SQLite {
		return sqlitehistory.Open(ctx, sqlitehistory.Config{Path: path, Logger: o.log})
	}
	return pghistory.Open(ctx, pghistory.Config{DSN: dsn, Logger: o.log})
}
