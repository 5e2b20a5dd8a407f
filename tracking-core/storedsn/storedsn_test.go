package storedsn_test

import (
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/storedsn"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		dsn, path, err string
		kind           storedsn.Kind
	}{
		{dsn: "postgres://u:p@h/db", kind: storedsn.Postgres},
		{dsn: "POSTGRESQL://h/db", kind: storedsn.Postgres},
		{dsn: "sqlite:data/h.db", kind: storedsn.SQLite, path: "data/h.db"},
		{dsn: "sqlite:///abs/h.db", kind: storedsn.SQLite, path: "/abs/h.db"},
		{dsn: "h.db", err: "x DSN has no scheme"},
		{dsn: "sqlite:", err: `x DSN "sqlite:" names no file`},
		{dsn: "mysql://h/db", err: `x DSN scheme "mysql" is not supported`},
	} {
		kind, path, err := storedsn.Parse("x", c.dsn)
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("Parse(%q): %v, want an error starting %q", c.dsn, err, c.err)
			}
			continue
		}
		if err != nil || kind != c.kind || path != c.path {
			t.Errorf("Parse(%q) = %v, %q, %v; want %v, %q", c.dsn, kind, path, err, c.kind, c.path)
		}
	}
}
