package pgmessaging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/messagingtest"
	"github.com/teamtrack/tracking-core/messaging/pgmessaging"
	"github.com/teamtrack/tracking-core/testsupport"
)

const hint = "scripts/test-services.sh up postgres, then source its env file"

func TestConformance(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	messagingtest.Run(t, func(t *testing.T) messaging.Store { return OpenStore(t, dsn) })
}

// OpenStore opens a Store in a schema of its own, dropped at the end of t.
func OpenStore(t testing.TB, dsn string) *pgmessaging.Store {
	t.Helper()
	schema := testsupport.PGSchema(t, dsn, "msg_")
	s, err := pgmessaging.Open(context.Background(), pgmessaging.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
	}
	return s
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := pgmessaging.Open(context.Background(), pgmessaging.Config{DSN: "postgres://u:secret@host:notaport/db"})
	if err == nil {
		t.Fatal("Open with a bad port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("the error shows the password: %s", s)
	}
}

// Replicas open one schema together (the migration is idempotent) and
// expire at once: each recipient is returned by one of them.
func TestReplicasExpireEachOnce(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	schema := testsupport.PGSchema(t, dsn, "msg_")
	ctx := context.Background()
	var stores [3]*pgmessaging.Store
	for i := range stores {
		s, err := pgmessaging.Open(ctx, pgmessaging.Config{DSN: dsn, Schema: schema, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	workers := make([]string, 300)
	for i := range workers {
		workers[i] = "w-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	m := messagingtest.Message("team_one", "m", messagingtest.Base, time.Minute, workers...)
	if _, err := stores[0].Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	got := make(chan []messaging.Expired, len(stores))
	for _, s := range stores {
		go func() {
			var all []messaging.Expired
			for {
				ex, err := s.Expire(ctx, messagingtest.Base.Add(time.Hour), 7)
				if err != nil {
					t.Error(err)
				}
				if len(ex) == 0 {
					got <- all
					return
				}
				all = append(all, ex...)
			}
		}()
	}
	seen := map[string]int{}
	for range stores {
		for _, e := range <-got {
			seen[e.Worker]++
		}
	}
	if len(seen) != len(workers) {
		t.Fatalf("%d recipients expired, want %d", len(seen), len(workers))
	}
	for w, n := range seen {
		if n != 1 {
			t.Fatalf("%s expired %d times", w, n)
		}
	}
}
