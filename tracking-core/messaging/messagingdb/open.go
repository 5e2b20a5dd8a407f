// Package messagingdb opens the messaging.Store a DSN names: the history's
// DSN (HISTORY_DSN), so that dispatch messages live in the history's
// database beside the alerts. It is apart from package messaging because it
// imports both backends.
package messagingdb

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/pgmessaging"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
)

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (pgmessaging), "sqlite:path" (sqlitemessaging). Anything else is an error
// naming the scheme. log may be nil.
func Open(ctx context.Context, dsn string, log *slog.Logger) (messaging.Store, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("messaging DSN has no scheme: want postgres://..., postgresql://... or sqlite:path")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return pgmessaging.Open(ctx, pgmessaging.Config{DSN: dsn, Logger: log})
	case "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, fmt.Errorf("messaging DSN %q names no file: want sqlite:path", dsn)
		}
		return sqlitemessaging.Open(ctx, sqlitemessaging.Config{Path: path, Logger: log})
	default:
		return nil, fmt.Errorf("messaging DSN scheme %q is not supported: want postgres://..., postgresql://... or sqlite:path", scheme)
	}
}
