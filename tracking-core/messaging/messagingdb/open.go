// Package messagingdb opens the messaging.Store a DSN names: the history's
// DSN (HISTORY_DSN), so that dispatch messages live in the history's
// database beside the alerts. It is apart from package messaging because it
// imports both backends.
package messagingdb

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/pgmessaging"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/storedsn"
)

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (pgmessaging), "sqlite:path" (sqlitemessaging). Anything else is an error
// naming the scheme. log may be nil.
func Open(ctx context.Context, dsn string, log *slog.Logger) (messaging.Store, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	kind, path, err := storedsn.Parse("messaging", dsn)
	if err != nil {
		return nil, err
	}
	if kind == storedsn.SQLite {
		return sqlitemessaging.Open(ctx, sqlitemessaging.Config{Path: path, Logger: log})
	}
	return pgmessaging.Open(ctx, pgmessaging.Config{DSN: dsn, Logger: log})
}
