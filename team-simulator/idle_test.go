package simulator

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// TestIdleHoldsConnections: each kind of idle connection opens against the
// real handlers, stays open across heartbeats (WebSocket pings answered,
// SSE comments read) and is counted; a refused one is counted as failed
// with the server's answer.
func TestIdleHoldsConnections(t *testing.T) {
	// A manager WebSocket's heartbeat is a ping that must be answered
	// within the write timeout: held for twice that, a connection whose
	// pongs the server did not read would be closed.
	s := startService(t, httpapi.Config{Heartbeat: 100 * time.Millisecond, WriteTimeout: time.Second})
	for _, kind := range []IdleKind{IdleWorkerWS, IdleManagerSSE, IdleManagerWS} {
		t.Run(string(kind), func(t *testing.T) {
			var ready IdleReport
			rep, err := RunIdle(t.Context(), IdleConfig{Kind: kind, URL: s.base(), Conns: 20, Teams: 3, Hold: 2 * time.Second,
				Sources:  []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")},
				IDPrefix: "idle" + string(kind[0]), Ready: func(r IdleReport) { ready = r }})
			if err != nil {
				t.Fatal(err)
			}
			if ready.Open != 20 || rep.Open != 20 || rep.Failed != 0 || rep.Closed != 0 {
				t.Fatalf("ready %+v, at the end %+v: want 20 open, none failed or closed", ready, rep)
			}
			if kind != IdleWorkerWS && rep.Pings < 20 {
				t.Errorf("%d heartbeats over 20 managers in 2s at 100ms: want each to have seen one", rep.Pings)
			}
		})
	}
	t.Run("worker-ws first position", func(t *testing.T) {
		before, _ := s.records(t)
		rep, err := RunIdle(t.Context(), IdleConfig{Kind: IdleWorkerWS, URL: s.base(), Conns: 20, Teams: 3, Hold: 200 * time.Millisecond,
			IDPrefix: "idlefirst", FirstPosition: true})
		if err != nil || rep.Open != 20 || rep.Failed != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			accepted, rejected := s.records(t)
			if accepted-before == 20 && rejected == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d positions accepted, %d rejected: want each worker's one", accepted-before, rejected)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		rep, err := RunIdle(ctx, IdleConfig{Kind: IdleManagerSSE, URL: s.base() + "bad%20team/", Conns: 2, Hold: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Failed != 2 || rep.FirstErr == "" {
			t.Fatalf("%+v: want 2 failed with the server's status", rep)
		}
		t.Logf("first error: %s", rep.FirstErr)
	})
}
