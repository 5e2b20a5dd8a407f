package historydb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/history/historydb"
	"github.com/teamtrack/tracking-core/history/pghistory"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
)

func TestOpenPicksTheBackendByScheme(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := historydb.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlitehistory.Store); !ok {
		t.Fatalf("sqlite: got %T", s)
	}
	// A PostgreSQL DSN opens without a server (the migration waits for one).
	for _, dsn := range []string{"postgres://u:p@127.0.0.1:1/db?connect_timeout=1", "postgresql://u:p@127.0.0.1:1/db?connect_timeout=1"} {
		s, err := historydb.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if _, ok := s.(*pghistory.Store); !ok {
			t.Fatalf("%s: got %T", dsn, s)
		}
		_ = s.Close()
	}
}

func TestOpenNamesAnUnknownScheme(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://u@h/db": `"mysql"`,
		"/var/lib/h.db":  "no scheme",
		"sqlite:":        "names no file",
	} {
		_, err := historydb.Open(context.Background(), dsn)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error containing %s", dsn, err, want)
		}
	}
}
