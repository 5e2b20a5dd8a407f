package pgdevices_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/devices/devicestest"
	"github.com/teamtrack/tracking-core/devices/pgdevices"
	"github.com/teamtrack/tracking-core/testsupport"
)

const hint = "scripts/test-services.sh up postgres, then source its env file"

func TestConformance(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	devicestest.Run(t, func(t *testing.T) devices.Store { return OpenStore(t, dsn) })
}

// OpenStore opens a Store in a schema of its own, dropped at the end of t.
func OpenStore(t testing.TB, dsn string) *pgdevices.Store {
	t.Helper()
	schema := testsupport.PGSchema(t, dsn, "dev_")
	s, err := pgdevices.Open(context.Background(), pgdevices.Config{DSN: dsn, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
	}
	return s
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := pgdevices.Open(context.Background(), pgdevices.Config{DSN: "postgres://u:secret@host:notaport/db"})
	if err == nil {
		t.Fatal("Open with a bad port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("the error shows the password: %s", s)
	}
}

// Replicas open one schema together (the migration is idempotent) and put
// the same new ids at once: each id is created by one of them.
func TestReplicasCreateEachOnce(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	schema := testsupport.PGSchema(t, dsn, "dev_")
	ctx := context.Background()
	var stores [3]*pgdevices.Store
	for i := range stores {
		s, err := pgdevices.Open(ctx, pgdevices.Config{DSN: dsn, Schema: schema, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const ids = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	for _, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprintf("phone-%02d", i)
				_, c, err := s.Put(ctx, devicestest.Device(id, "team_one", "w-1", devicestest.Base))
				if err != nil {
					t.Error(err)
					return
				}
				if c {
					mu.Lock()
					created[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(created) != ids {
		t.Fatalf("%d ids created, want %d", len(created), ids)
	}
	for id, n := range created {
		if n != 1 {
			t.Fatalf("%s created %d times", id, n)
		}
	}
}

// A Put racing Deletes of its id ends with the device stored or refused
// clearly, never half done.
func TestPutRacingDelete(t *testing.T) {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", hint)
	s := OpenStore(t, dsn)
	defer s.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = s.Delete(ctx, "phone-1") // not_found most of the time
			}
		}
	}()
	for range 200 {
		d, _, err := s.Put(ctx, devicestest.Device("phone-1", "team_one", "w-1", devicestest.Base))
		if err != nil && !strings.Contains(err.Error(), "deleted concurrently") {
			t.Fatalf("Put: %v", err)
		}
		if err == nil && (d.ID != "phone-1" || d.CreatedAt.IsZero()) {
			t.Fatalf("Put returned %+v", d)
		}
	}
	close(stop)
	wg.Wait()
}
