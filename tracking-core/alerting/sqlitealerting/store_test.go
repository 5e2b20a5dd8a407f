package sqlitealerting_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
)

func TestConformance(t *testing.T) {
	alertingtest.Run(t, func(t *testing.T) alerting.Store {
		s, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// A database made before push subscriptions (alert_webhooks without their
// columns) is migrated on Open: its webhooks stay webhooks, and push
// subscriptions can be stored.
func TestMigratesTheSchemaOfBeforePush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	ctx := context.Background()
	s, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.PutWebhook(ctx, alerting.Webhook{Team: "team_one", URL: "https://example.com/h", Secret: "0123456789abcdef", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP INDEX alert_push_endpoint`, `DROP TABLE alert_vapid`,
		`ALTER TABLE alert_webhooks DROP COLUMN target`, `ALTER TABLE alert_webhooks DROP COLUMN p256dh`,
		`ALTER TABLE alert_webhooks DROP COLUMN auth`, `ALTER TABLE alert_webhooks DROP COLUMN subject`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = db.Close()
	for range 2 { // and once more: the migration is idempotent
		s, err = sqlitealerting.Open(ctx, sqlitealerting.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if l, err := s.ListWebhooks(ctx, "team_one"); err != nil || len(l) != 1 || l[0].ID != w.ID {
			t.Fatalf("webhooks after the migration: %+v, %v", l, err)
		}
		_ = s.Close()
	}
	s, _ = sqlitealerting.Open(ctx, sqlitealerting.Config{Path: path})
	defer s.Close()
	p256dh, auth := alertingtest.PushKeys(t)
	if _, created, err := s.PutPushSubscription(ctx, alerting.PushSubscription{Team: "team_one", Endpoint: "https://push.example.com/x", P256dh: p256dh, Auth: auth}); err != nil || !created {
		t.Fatalf("PutPushSubscription after the migration: %v", err)
	}
	if _, err := s.VAPIDKeys(ctx, alerting.VAPIDKeys{Public: "p", Private: "k"}); err != nil {
		t.Fatal(err)
	}
}
