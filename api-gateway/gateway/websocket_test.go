package gateway

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/coder/websocket"
)

// TestWebSocketPassthrough checks messages both ways through the gateway and
// that a close code from the upstream reaches the client.
func TestWebSocketPassthrough(t *testing.T) {
	gotFromClient := make(chan string, 1)
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil) // default origin check: Host must be kept
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		gotFromClient <- string(msg)
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"positions","positions":[]}`))
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"reconnect","reason":"lifetime"}`))
		_ = c.Close(websocket.StatusServiceRestart, "lifetime")
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, g.ws("/tracking/redis/team_one/ws"), &websocket.DialOptions{
		HTTPClient: g.client,
		HTTPHeader: http.Header{"Origin": {g.url("")}},
	})
	if err != nil {
		t.Fatalf("dial through the gateway: %v", err)
	}
	defer c.CloseNow()
	if res.Header.Get("X-Request-ID") == "" {
		t.Error("101 without X-Request-ID")
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"hello":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := <-gotFromClient; got != `{"hello":1}` {
		t.Fatalf("upstream got %q", got)
	}
	for _, want := range []string{`{"type":"positions","positions":[]}`, `{"type":"reconnect","reason":"lifetime"}`} {
		_, msg, err := c.Read(ctx)
		if err != nil || string(msg) != want {
			t.Fatalf("client read %q %v, want %s", msg, err, want)
		}
	}
	_, _, err = c.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
		t.Fatalf("close: %v (code %d), want 1012", err, code)
	}
	testsupport.Eventually(t, 5*time.Second, "101 counted", func() bool {
		return g.counter(t, "gateway_requests_total", map[string]string{"route": "team_ws", "code": "101"}) == 1
	})
}

// TestWebSocketClientCloseReachesUpstream checks the other direction of a close.
func TestWebSocketClientCloseReachesUpstream(t *testing.T) {
	closeCode := make(chan websocket.StatusCode, 1)
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				closeCode <- websocket.CloseStatus(err)
				return
			}
			_ = c.Write(r.Context(), typ, msg) // echo
		}
	})
	g := newTestGateway(t, map[string][]string{kafkaSvc: {up.addr()}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, g.ws("/tracking/kafka/ws"), &websocket.DialOptions{HTTPClient: g.client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 3 {
		msg := []byte(`{"workerId":"w","n":` + string(rune('0'+i)) + `}`)
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != string(msg) {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	if err := c.Close(websocket.StatusCode(4001), "bye"); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("client close: %v", err)
	}
	select {
	case code := <-closeCode:
		if code != 4001 {
			t.Fatalf("upstream saw close code %d, want 4001", code)
		}
	case <-ctx.Done():
		t.Fatal("upstream never saw the close")
	}
	if up.last().URL.Path != "/tracking/ws" {
		t.Fatalf("upstream path %q", up.last().URL.Path)
	}
}
