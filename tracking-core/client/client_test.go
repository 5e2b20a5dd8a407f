package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/client"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

func fast() client.Backoff {
	return client.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}
}

// A worker and a manager on a replica whose connections live 300 ms: both
// are told to reconnect again and again; every position the worker sends
// reaches the manager once, in order, across the reconnections of both.
func TestWorkerAndWatchAcrossReconnects(t *testing.T) {
	for _, tr := range []struct {
		name string
		t    client.Transport
	}{{"sse", client.SSE}, {"websocket", client.WebSocket}} {
		t.Run(tr.name, func(t *testing.T) {
			r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}),
				httpapi.Config{RecordsPerSecond: -1, MaxLifetime: 300 * time.Millisecond})
			api := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			var watchReconnects, workerReconnects atomic.Int32
			var mu sync.Mutex
			var got []string
			marked := make(chan struct{})
			watchDone := make(chan error, 1)
			go func() {
				var once sync.Once
				watchDone <- client.Watch(ctx, api, "team_one", client.WatchOptions{Transport: tr.t, Backoff: fast(),
					OnReconnect: func(error, string) { watchReconnects.Add(1) }},
					func(ev *apiclient.Event) error {
						if ev.ID != "" {
							once.Do(func() { close(marked) }) // the mark after the (empty) snapshot
						}
						mu.Lock()
						defer mu.Unlock()
						for _, p := range ev.Positions {
							var rec struct{ ID string }
							if err := json.Unmarshal(p, &rec); err != nil {
								return err
							}
							got = append(got, rec.ID)
						}
						return nil
					})
			}()
			select {
			case <-marked:
			case err := <-watchDone:
				t.Fatalf("watch ended before its first mark: %v", err)
			}

			w, err := client.DialWorker(ctx, api, client.WorkerOptions{Backoff: fast(),
				OnReconnect: func(error) { workerReconnects.Add(1) },
				OnError:     func(e wire.ErrorBody) { t.Errorf("record refused: %v", e) }})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			// Send until both sides have been told to reconnect twice.
			var sent []string
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for i := 0; watchReconnects.Load() < 2 || workerReconnects.Load() < 2; i++ {
				<-tick.C
				id := fmt.Sprintf("p-%04d", i)
				p := tracking.Position{ID: id, WorkerID: "w-1", Team: "team_one",
					Location: tracking.Location{Latitude: -23.55 + float64(i)*1e-5, Longitude: -46.63}}
				if err := w.Send(ctx, p); err != nil {
					t.Fatalf("send %s: %v", id, err)
				}
				sent = append(sent, id)
				if i > 10_000 {
					t.Fatalf("no reconnections after %d positions (watch %d, worker %d)", i, watchReconnects.Load(), workerReconnects.Load())
				}
			}
			testsupport.Eventually(t, 10*time.Second, "every position at the manager", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) >= len(sent)
			})
			cancel()
			if err := <-watchDone; !errors.Is(err, context.Canceled) {
				t.Errorf("Watch returned %v, want context.Canceled", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, sent) {
				t.Errorf("the manager got %d positions, want the %d sent, once each and in order:\ngot  %v\nwant %v", len(got), len(sent), got, sent)
			}
			t.Logf("%d positions; worker reconnected %d times, watch %d", len(sent), workerReconnects.Load(), watchReconnects.Load())
		})
	}
}

// A manager's message reaches the worker through Messages; its ack and
// read move the message's state.
func TestWorkerMessages(t *testing.T) {
	st, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := servicetest.StartReplicaConfig(t, memory.New(memory.NewBackend(), memory.Config{}),
		service.Config{API: httpapi.Config{RecordsPerSecond: -1}, Messages: st})
	api := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	ctx := context.Background()
	w, err := client.DialWorker(ctx, api, client.WorkerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// An anonymous connection is named by its first position.
	if err := w.Send(ctx, tracking.Position{WorkerID: "w-1", Team: "team_one", Location: tracking.Location{Latitude: 1, Longitude: 2}}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 5*time.Second, "w-1's position", func() bool {
		pos, err := api.LastPositions(ctx, "team_one")
		return err == nil && len(pos) == 1
	})
	resp, err := http.Post(r.URL+"/tracking/team_one/messages", "application/json",
		strings.NewReader(`{"to":["w-1"],"body":{"text":"come back"},"ttl":"10m"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST message: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	var m client.Message
	select {
	case m = <-w.Messages():
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	if string(m.Body) != `{"text":"come back"}` || !strings.HasSuffix(loc, "/"+m.ID) || m.ExpiresAt.Sub(m.SentAt) != 10*time.Minute {
		t.Fatalf("message %+v (body %s), want the one at %s with a 10m ttl", m, m.Body, loc)
	}
	if err := w.Ack(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.Read(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 5*time.Second, "the message read", func() bool {
		resp, err := http.Get(r.URL + loc)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			Recipients []struct{ WorkerID, State string }
		}
		return json.NewDecoder(resp.Body).Decode(&st) == nil && len(st.Recipients) == 1 && st.Recipients[0].State == "read"
	})
}

// A refusal that retrying cannot cure ends Watch with the server's answer.
func TestWatchRefusedForGood(t *testing.T) {
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{})
	api := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	err := client.Watch(context.Background(), api, "bad team!", client.WatchOptions{Backoff: fast()},
		func(*apiclient.Event) error { return nil })
	var se *apiclient.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Fatalf("Watch of an invalid team: %v, want a 400 StatusError", err)
	}
}

// A message not acknowledged is sent again on the next connection: the
// worker yields it once, and acknowledges the second copy by itself.
func TestWorkerMessageSentAgain(t *testing.T) {
	st, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := servicetest.StartReplicaConfig(t, memory.New(memory.NewBackend(), memory.Config{}),
		service.Config{API: httpapi.Config{RecordsPerSecond: -1, MaxLifetime: 300 * time.Millisecond}, Messages: st})
	api := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	ctx := context.Background()
	var reconnects atomic.Int32
	w, err := client.DialWorker(ctx, api, client.WorkerOptions{Backoff: fast(), OnReconnect: func(error) { reconnects.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Named by a position on every connection (an anonymous connection is
	// the worker's once it sent one).
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = w.Send(ctx, tracking.Position{WorkerID: "w-1", Team: "team_one", Location: tracking.Location{Latitude: 1, Longitude: 2}})
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	testsupport.Eventually(t, 5*time.Second, "w-1's position", func() bool {
		pos, err := api.LastPositions(ctx, "team_one")
		return err == nil && len(pos) == 1
	})
	resp, err := http.Post(r.URL+"/tracking/team_one/messages", "application/json", strings.NewReader(`{"to":["w-1"],"body":{"n":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	m := <-w.Messages() // not acked
	at := reconnects.Load()
	state := func() string {
		resp, err := http.Get(r.URL + loc)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var st struct{ Recipients []struct{ State string } }
		if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Recipients) != 1 {
			return ""
		}
		return st.Recipients[0].State
	}
	testsupport.Eventually(t, 10*time.Second, "the message acked after a reconnection", func() bool {
		return reconnects.Load() > at && state() == "acked"
	})
	select {
	case again := <-w.Messages():
		t.Errorf("message %s yielded twice (%s)", again.ID, m.ID)
	default:
	}
}
