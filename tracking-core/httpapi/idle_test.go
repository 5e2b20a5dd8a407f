package httpapi_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// An idle manager stream holds one goroutine, its reader: the handler
// has returned (SSE and WebSocket alike) and no writer runs while there
// is nothing to write. A position wakes the writers; closing the clients
// ends the streams, their goroutines and their count.
func TestIdleManagerStreamHoldsOneGoroutine(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{RecordsPerSecond: -1, Heartbeat: 200 * time.Millisecond})
	c := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	ctx := context.Background()
	const n = 5
	var streams []apiclient.ManagerStream
	for i := range 2 * n {
		watch := c.WatchSSE
		if i >= n {
			watch = c.WatchWS
		}
		ms, err := watch(ctx, "team_m")
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, ms)
	}
	count := func() (handlers, writers, sseReaders, wsReaders int) {
		buf := make([]byte, 4<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			switch {
			case strings.Contains(g, "(*API).handleSSE(") || strings.Contains(g, "(*API).handleManagerWS("):
				handlers++
			case strings.Contains(g, "(*managerStream).run("):
				writers++
			case strings.Contains(g, "(*API).handleSSE.func"):
				sseReaders++
			case strings.Contains(g, "(*API).handleManagerWS.func"):
				wsReaders++
			}
		}
		return
	}
	testsupport.Eventually(t, 5*time.Second, "one reader goroutine per stream, no handler or writer", func() bool {
		h, w, s, ws := count()
		return h == 0 && w == 0 && s == n && ws == n
	})
	if got := r.Counter(t, "tracking_connections"); got != 2*n {
		t.Fatalf("%v connections counted open, want %d", got, 2*n)
	}
	if a, err := c.Post(ctx, strings.NewReader(record("w1"))); err != nil || a.Accepted != 1 {
		t.Fatalf("post: %+v %v", a, err)
	}
	for i, ms := range streams {
		for {
			ev, err := ms.Next()
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			if len(ev.Positions) > 0 {
				if !strings.Contains(string(ev.Positions[0]), `"w1"`) {
					t.Fatalf("stream %d: %s, want w1's position", i, ev.Positions[0])
				}
				break
			}
		}
	}
	for _, ms := range streams {
		_ = ms.Close()
	}
	testsupport.Eventually(t, 5*time.Second, "the streams' goroutines gone", func() bool {
		h, w, s, ws := count()
		return h+w+s+ws == 0
	})
	if got := r.Counter(t, "tracking_connections"); got != 0 {
		t.Errorf("%v connections counted open after the clients closed, want 0", got)
	}
}
