package apiclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// serve runs one API replica on the memory broadcaster.
func serve(t *testing.T, cfg httpapi.Config) (*httpapi.API, *apiclient.Client) {
	t.Helper()
	b := memory.New(memory.NewBackend(), memory.Config{})
	h := hub.New(b, hub.Config{})
	api := httpapi.New(cfg, b, h)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = api.Shutdown(ctx)
		srv.Close()
		h.Close()
		b.Close()
	})
	return api, apiclient.MustNew(srv.URL+"/tracking", apiclient.Config{})
}

func rec(worker string, seq int) []byte {
	p := tracking.Position{ID: worker + "." + string(rune('0'+seq)), WorkerID: worker, Team: "t1",
		Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: time.Now().UTC()}
	return wire.AppendPosition(nil, &p)
}

// next returns the next event with positions, skipping the others.
func next(t *testing.T, ms apiclient.ManagerStream) [][]byte {
	t.Helper()
	for {
		ev, err := ms.Next()
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if len(ev.Positions) > 0 {
			var out [][]byte
			for _, p := range ev.Positions {
				out = append(out, bytes.Clone(p))
			}
			return out
		}
	}
}

func TestPublishAndWatch(t *testing.T) {
	api, c := serve(t, httpapi.Config{FlushInterval: -1})
	ctx := context.Background()
	first := rec("w1", 1)
	if a, err := c.Post(ctx, bytes.NewReader(first)); err != nil || a.Accepted != 1 {
		t.Fatalf("post: %+v %v", a, err)
	}
	sse, err := c.WatchSSE(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	mws, err := c.WatchWS(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	defer mws.Close()
	for name, ms := range map[string]apiclient.ManagerStream{"SSE": sse, "WebSocket": mws} {
		if got := next(t, ms); len(got) != 1 || !bytes.Equal(got[0], first) {
			t.Fatalf("%s snapshot %q, want %s", name, got, first)
		}
	}

	answers := make(chan wire.ServerMessage, 4)
	w, err := c.DialWorker(ctx, func(m *wire.ServerMessage) {
		answers <- wire.ServerMessage{Type: m.Type, Reason: m.Reason, Error: m.Error}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	second := rec("w1", 2)
	if err := w.Send(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(ctx, []byte(`{"workerId":"w1"`)); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a.Type != wire.TypeError || a.Error.Code != "invalid_json" {
		t.Fatalf("answer %+v, want invalid_json", a)
	}
	for name, ms := range map[string]apiclient.ManagerStream{"SSE": sse, "WebSocket": mws} {
		if got := next(t, ms); len(got) != 1 || !bytes.Equal(got[0], second) {
			t.Fatalf("%s live %q, want %s", name, got, second)
		}
	}

	ps, err := c.OpenPost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	third := rec("w2", 3)
	if _, err := ps.Write(append(bytes.Clone(third), '\n')); err != nil {
		t.Fatal(err)
	}
	if got := next(t, sse); !bytes.Equal(got[0], third) {
		t.Fatalf("SSE got %s while the POST streams, want %s", got[0], third)
	}
	if a, err := ps.Close(); err != nil || a.Accepted != 1 {
		t.Fatalf("post stream: %+v %v", a, err)
	}
	last, err := c.LastPositions(ctx, "t1")
	if err != nil || len(last) != 2 {
		t.Fatalf("last positions %s %v", last, err)
	}

	// Shutdown: every connection gets a reconnect hint.
	go func() { _ = api.Shutdown(ctx) }()
	for name, ms := range map[string]apiclient.ManagerStream{"SSE": sse, "WebSocket": mws} {
		for {
			_, err := ms.Next()
			if err == nil {
				continue
			}
			var re *apiclient.ReconnectError
			if !errors.As(err, &re) || re.Reason != wire.ReasonShutdown {
				t.Fatalf("%s ended with %v, want a shutdown hint", name, err)
			}
			break
		}
	}
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("worker not told to reconnect")
	}
	var re *apiclient.ReconnectError
	if err := w.Err(); !errors.As(err, &re) || re.Reason != wire.ReasonShutdown {
		t.Fatalf("worker ended with %v", err)
	}
}

func TestRefusalsAreStatusErrors(t *testing.T) {
	_, c := serve(t, httpapi.Config{})
	ctx := context.Background()
	for name, open := range map[string]func() error{
		"SSE":       func() error { _, err := c.WatchSSE(ctx, "bad team!"); return err },
		"WebSocket": func() error { _, err := c.WatchWS(ctx, "bad!"); return err },
	} {
		err := open()
		var se *apiclient.StatusError
		if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || se.Body.Code != "invalid_field" {
			t.Errorf("%s: %v, want a 400 invalid_field StatusError", name, err)
		}
	}
}

func TestTokenInHeaderOrQuery(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		if strings.HasSuffix(r.URL.Path, "/ws") {
			c, err := websocket.Accept(w, r, nil)
			if err == nil {
				c.CloseNow()
			}
			return
		}
		_, _ = w.Write([]byte(`{"accepted":0,"rejected":0,"errors":[]}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	base := apiclient.MustNew(srv.URL+"/tracking/redis/?x=1", apiclient.Config{Header: http.Header{"X-Test": {"yes"}}})

	if _, err := base.WithToken("tok").Post(ctx, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.URL.Path != "/tracking/redis/" || r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Test") != "yes" || r.URL.Query().Get("x") != "1" {
		t.Fatalf("POST %s with %v", r.URL, r.Header)
	}
	q := apiclient.MustNew(srv.URL+"/tracking/redis?x=1", apiclient.Config{Token: "tok", TokenInQuery: true})
	w, err := q.DialWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.CloseNow()
	r = <-got
	if r.URL.Path != "/tracking/redis/ws" || r.URL.Query().Get("access_token") != "tok" || r.URL.Query().Get("x") != "1" || r.Header.Get("Authorization") != "" {
		t.Fatalf("worker WebSocket %s with %v", r.URL, r.Header)
	}
}

// Close and CloseNow of a worker connection may be called more than once,
// in any order.
func TestWorkerCloseIdempotent(t *testing.T) {
	_, c := serve(t, httpapi.Config{})
	w, err := c.DialWorker(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Close()
		_ = w.Close()
		w.CloseNow()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second Close did not return")
	}
}

// CloseNow of a streaming POST returns although its body is still open.
func TestPostStreamCloseNow(t *testing.T) {
	_, c := serve(t, httpapi.Config{})
	p, err := c.OpenPost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(append(rec("w1", 1), '\n')); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.CloseNow()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("CloseNow of an open POST did not return")
	}
}
