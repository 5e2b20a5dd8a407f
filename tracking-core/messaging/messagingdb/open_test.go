package messagingdb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/alertingdb"
	"github.com/teamtrack/tracking-core/history/historydb"
	"github.com/teamtrack/tracking-core/messaging/messagingdb"
	"github.com/teamtrack/tracking-core/messaging/messagingtest"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
)

// The messages share the history's file with the alerts.
func TestOpenSQLiteBesideTheHistoryAndAlerts(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "history.db")
	h, err := historydb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a, err := alertingdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s, err := messagingdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlitemessaging.Store); !ok {
		t.Fatalf("sqlite DSN opened a %T", s)
	}
	if _, err := s.Create(ctx, messagingtest.Message("team_one", "m", messagingtest.Base, time.Minute, "w-1")); err != nil {
		t.Fatal(err)
	}
	// Opening again (another replica) migrates idempotently.
	s2, err := messagingdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(ctx, "team_one", "m"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "nothing", "sqlite:"} {
		if _, err := messagingdb.Open(context.Background(), dsn, nil); err == nil || !strings.Contains(err.Error(), "messaging DSN") {
			t.Errorf("Open(%q): %v", dsn, err)
		}
	}
}
