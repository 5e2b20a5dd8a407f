// Package devicesdb opens the devices.Store a DSN names: the history's DSN
// (HISTORY_DSN), so that the device registry lives in the history's
// database beside the alerts and the messages. It is apart from package
// devices because it imports both backends.
package devicesdb

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/devices/pgdevices"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/storedsn"
)

// Open opens the store dsn names: "postgres://..." or "postgresql://..."
// (pgdevices), "sqlite:path" (sqlitedevices). Anything else is an error
// naming the scheme. log may be nil.
func Open(ctx context.Context, dsn string, log *slog.Logger) (devices.Store, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	kind, path, err := storedsn.Parse("devices", dsn)
	if err != nil {
		return nil, err
	}
	if kind == storedsn.SQLite {
		return sqlitedevices.Open(ctx, sqlitedevices.Config{Path: path, Logger: log})
	}
	return pgdevices.Open(ctx, pgdevices.Config{DSN: dsn, Logger: log})
}
