// Package storedsn reads the DSN of a store (HISTORY_DSN, which the history,
// the alerting and the messaging stores share): which database it names and,
// for SQLite, the file. Each store's Open (historydb, alertingdb,
// messagingdb) picks its backend from it.
package storedsn

import (
	"fmt"
	"strings"
)

// Kind is the database a DSN names.
type Kind int

// Kinds of database.
const (
	Postgres Kind = iota + 1 // postgres://... or postgresql://...: the DSN is given to pgx whole
	SQLite                   // sqlite:path (also sqlite:///abs/path, sqlite://rel)
)

// Parse returns the kind of database dsn names and, for SQLite, the file's
// path. what names the store in errors ("history", "alerting"...).
func Parse(what, dsn string) (Kind, string, error) {
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return 0, "", fmt.Errorf("%s DSN has no scheme: want postgres://..., postgresql://... or sqlite:path", what)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return Postgres, "", nil
	case "sqlite":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return 0, "", fmt.Errorf("%s DSN %q names no file: want sqlite:path", what, dsn)
		}
		return SQLite, path, nil
	default:
		return 0, "", fmt.Errorf("%s DSN scheme %q is not supported: want postgres://..., postgresql://... or sqlite:path", what, scheme)
	}
}
