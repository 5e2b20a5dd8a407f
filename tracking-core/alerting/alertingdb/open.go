// Package alertingdb opens the alerting.Store a DSN names: the history's
// DSN (HISTORY_DSN), so that alerts live in the history's database. It is
// apart from package alerting because it imports both backends.
package alertingdb

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/pgalerting"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/storedsn"
)

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (pgalerting), "sqlite:path" (sqlitealerting). Anything else is an error
// naming the scheme. log may be nil.
func Open(ctx context.Context, dsn string, log *slog.Logger) (alerting.Store, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	kind, path, err := storedsn.Parse("alerting", dsn)
	if err != nil {
		return nil, err
	}
	if kind == storedsn.SQLite {
		return sqlitealerting.Open(ctx, sqlitealerting.Config{Path: path, Logger: log})
	}
	return pgalerting.Open(ctx, pgalerting.Config{DSN: dsn, Logger: log})
}
