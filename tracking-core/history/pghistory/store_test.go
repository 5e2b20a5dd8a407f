package pghistory_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/history/pghistory"
	"github.com/teamtrack/tracking-core/testsupport"
)

const hint = "scripts/test-services.sh up postgres, then source its env file"

// openStore opens a Store in a schema of its own, dropped at the end of t.
func openStore(t testing.TB, dsn string) *pghistory.Store {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "hist_" + hex.EncodeToString(b)
	s, err := pghistory.Open(context.Background(), pghistory.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	historytest.Run(t, func(t *testing.T) history.Store { return openStore(t, dsn) })
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := pghistory.Open(context.Background(), pghistory.Config{DSN: "postgres://u:secret@host:notaport/db"})
	if err == nil {
		t.Fatal("Open with a bad port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("the error shows the password: %s", s)
	}
}
