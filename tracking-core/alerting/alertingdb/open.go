// Package alertingdb opens the alerting.Store a DSN names: the history's
// DSN (HISTORY_DSN), so that alerts live in the history's database. It is
// apart from package alerting because it imports both backends.
package alertingdb

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/pgalerting"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
)

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (pgalerting), "sqlite:path" (sqlitealerting). Anything else is an error
// naming the scheme. log may be nil.
func Open(ctx context.Context, dsn string, log *slog.Logger) (alerting.Store, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("alerting DSN has no scheme: want postgres://..., postgresql://... or sqlite:path")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return pgalerting.Open(ctx, pgalerting.Config{DSN: dsn, Logger: log})
	case "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, fmt.Errorf("alerting DSN %q names no file: want sqlite:path", dsn)
		}
		return sqlitealerting.Open(ctx, sqlitealerting.Config{Path: path, Logger: log})
	default:
		return nil, fmt.Errorf("alerting DSN scheme %q is not supported: want postgres://..., postgresql://... or sqlite:path", scheme)
	}
}
