package webhook_test

import (
	"context"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/pgalerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/testsupport"
)

// pgStores opens n Stores (one per replica, each its own pool) on one
// schema of TEST_POSTGRES_DSN, dropped at the end of t.
func pgStores(t *testing.T, n int) []*pgalerting.Store {
	dsn := testsupport.Env(t, "TEST_POSTGRES_DSN", "scripts/test-services.sh up postgres, then source its env file")
	schema := testsupport.PGSchema(t, dsn, "whk_")
	var out []*pgalerting.Store
	for range n {
		s, err := pgalerting.Open(context.Background(), pgalerting.Config{DSN: dsn, Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(context.Background()); err != nil {
			t.Fatalf("PostgreSQL at TEST_POSTGRES_DSN is not ready: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	return out
}

// Two replicas' dispatchers on one PostgreSQL: no delivery is ever being
// sent by both at once (the receiver sees no overlapping requests of one
// delivery), and together they deliver everything, retries included.
func TestTwoDispatchersShareOnePostgres(t *testing.T) {
	stores := pgStores(t, 2)
	rc := newReceiver(t)
	rc.delay = jitter(30 * time.Millisecond)
	rc.answer = func(r *http.Request) int {
		if r.Header.Get(webhook.HeaderAttempt) == "1" && mrand.N(5) == 0 {
			return http.StatusBadGateway // a fifth of first attempts fail: retries too
		}
		return 0
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	addHook(t, stores[0], rc, "team_one", srv.URL, "/a")
	addHook(t, stores[0], rc, "team_one", srv.URL, "/b")
	addHook(t, stores[0], rc, "team_two", srv.URL, "/c")
	cfg := webhook.Config{Timeout: 2 * time.Second, Lease: 5 * time.Second, Poll: 20 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, PerEndpoint: 4, MaxInFlight: 16}
	cfg.Store = stores[0]
	d0, reg0 := startDispatcher(t, cfg)
	cfg.Store = stores[1]
	d1, reg1 := startDispatcher(t, cfg)
	for i := range 4 {
		appendEvents(t, stores[i%2], "team_one", "one"+string(rune('a'+i)), 50)
		appendEvents(t, stores[i%2], "team_two", "two"+string(rune('a'+i)), 25)
		d0.Notify()
		d1.Notify()
	}
	const want = 4 * (2*50 + 25)
	testsupport.Eventually(t, 60*time.Second, "every delivery", func() bool { return rc.unique() == want })
	rc.check()
	rc.mu.Lock()
	overlaps := rc.overlaps
	rc.mu.Unlock()
	if overlaps != 0 {
		t.Fatalf("%d requests of a delivery arrived while another of the same was in flight", overlaps)
	}
	// A dispatcher counts a delivery once the store has it as delivered,
	// a moment after the receiver answered.
	var n0, n1 int
	testsupport.Eventually(t, 10*time.Second, "every delivery counted", func() bool {
		n0, n1 = count(t, reg0, "delivered"), count(t, reg1, "delivered")
		return n0+n1 >= want
	})
	if n0 == 0 || n1 == 0 {
		t.Fatalf("replica 0 delivered %d, replica 1 %d: want both to share the %d", n0, n1, want)
	}
	t.Logf("replica 0 delivered %d, replica 1 %d, failures retried: %d", n0, n1, count(t, reg0, "failed")+count(t, reg1, "failed"))
}
