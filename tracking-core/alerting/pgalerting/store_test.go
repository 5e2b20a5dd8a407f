package pgalerting_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

// A schema made before push subscriptions (alert_webhooks without their
// columns) is migrated: its webhooks stay webhooks, and push subscriptions
// can be stored.
func TestMigratesTheSchemaOfBeforePush(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	schema := testsupport.PGSchema(t, dsn, "alert_")
	ctx := context.Background()
	open := func() *pgalerting.Store {
		s, err := pgalerting.Open(ctx, pgalerting.Config{DSN: dsn, Schema: schema, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	w, err := s.PutWebhook(ctx, alerting.Webhook{Team: "team_one", URL: "https://example.com/h", Secret: "0123456789abcdef", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	tbl := pgx.Identifier{schema, "alert_webhooks"}.Sanitize()
	for _, q := range []string{`DROP TABLE ` + pgx.Identifier{schema, "alert_vapid"}.Sanitize(),
		`ALTER TABLE ` + tbl + ` DROP COLUMN target, DROP COLUMN p256dh, DROP COLUMN auth, DROP COLUMN subject`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = conn.Close(ctx)
	for range 2 { // and once more: the migration is idempotent
		s = open()
		if l, err := s.ListWebhooks(ctx, "team_one"); err != nil || len(l) != 1 || l[0].ID != w.ID {
			t.Fatalf("webhooks after the migration: %+v, %v", l, err)
		}
		_ = s.Close()
	}
	s = open()
	defer s.Close()
	p256dh, auth := alertingtest.PushKeys(t)
	if _, created, err := s.PutPushSubscription(ctx, alerting.PushSubscription{Team: "team_one", Endpoint: "https://push.example.com/x", P256dh: p256dh, Auth: auth}); err != nil || !created {
		t.Fatalf("PutPushSubscription after the migration: %v", err)
	}
	if _, err := s.VAPIDKeys(ctx, alerting.VAPIDKeys{Public: "p", Private: "k"}); err != nil {
		t.Fatal(err)
	}
}
