package pgalerting_test

import (
	"context"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/pgalerting"
	"github.com/teamtrack/tracking-core/testsupport"
)

const hint = "scripts/test-services.sh up postgres, then source its env file"

func TestConformance(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	alertingtest.Run(t, func(t *testing.T) alerting.Store { return OpenStore(t, dsn) })
}

// OpenStore opens a Store in a schema of its own, dropped at the end of t.
func OpenStore(t testing.TB, dsn string) *pgalerting.Store {
	t.Helper()
	schema := testsupport.PGSchema(t, dsn, "alert_")
	s, err := pgalerting.Open(context.Background(), pgalerting.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
	}
	return s
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := pgalerting.Open(context.Background(), pgalerting.Config{DSN: "postgres://u:secret@host:notaport/db"})
	if err == nil {
		t.Fatal("Open with a bad port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("the error shows the password: %s", s)
	}
}
