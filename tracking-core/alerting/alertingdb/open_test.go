package alertingdb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/alerting/alertingdb"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/history/historydb"
)

func TestOpenSQLiteBesideTheHistory(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "history.db")
	h, err := historydb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := alertingdb.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlitealerting.Store); !ok {
		t.Fatalf("sqlite DSN opened a %T", s)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Opening again (another replica) migrates idempotently.
	s2, err := alertingdb.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "nothing", "sqlite:"} {
		if _, err := alertingdb.Open(context.Background(), dsn, nil); err == nil || !strings.Contains(err.Error(), "alerting DSN") {
			t.Errorf("Open(%q): %v", dsn, err)
		}
	}
}
