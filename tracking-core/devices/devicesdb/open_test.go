package devicesdb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/devices/devicesdb"
	"github.com/teamtrack/tracking-core/devices/devicestest"
	"github.com/teamtrack/tracking-core/devices/pgdevices"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/history/historydb"
	"github.com/teamtrack/tracking-core/messaging/messagingdb"
	"github.com/teamtrack/tracking-core/messaging/messagingtest"
)

// The devices share the history's file with the messages.
func TestOpenSQLiteBesideTheHistoryAndMessages(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "history.db")
	h, err := historydb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	m, err := messagingdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := devicesdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlitedevices.Store); !ok {
		t.Fatalf("sqlite DSN opened a %T", s)
	}
	if _, _, err := s.Put(ctx, devicestest.Device("phone-1", "team_one", "w-1", devicestest.Base)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, messagingtest.Message("team_one", "m", messagingtest.Base, time.Minute, "w-1")); err != nil {
		t.Fatal(err)
	}
	// Opening again (another replica) migrates idempotently.
	s2, err := devicesdb.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d, err := s2.Get(ctx, "phone-1"); err != nil || d.Worker != "w-1" {
		t.Fatalf("Get through a second store: %+v, %v", d, err)
	}
}

// A postgres DSN opens pgdevices, even with the server down (the
// migration is retried by the first call).
func TestOpenPostgres(t *testing.T) {
	for _, dsn := range []string{"postgres://u@127.0.0.1:1/db?connect_timeout=1", "postgresql://u@127.0.0.1:1/db?connect_timeout=1"} {
		s, err := devicesdb.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*pgdevices.Store); !ok {
			t.Fatalf("%s opened a %T", dsn, s)
		}
		if _, err := s.Get(context.Background(), "phone-1"); err == nil || !strings.Contains(err.Error(), "pgdevices: migrate") {
			t.Fatalf("Get with the server down: %v", err)
		}
		_ = s.Close()
	}
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "nothing", "sqlite:"} {
		if _, err := devicesdb.Open(context.Background(), dsn, nil); err == nil || !strings.Contains(err.Error(), "devices DSN") {
			t.Errorf("Open(%q): %v", dsn, err)
		}
	}
}
