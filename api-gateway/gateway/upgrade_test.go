package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// rawUpgrade is one end of an upgraded connection, below WebSocket framing:
// the tests need half-closes, which no WebSocket library offers.
type rawUpgrade struct {
	conn *net.TCPConn
	r    *bufio.Reader
}

// upgradeUpstream answers an upgrade with 101 and hands the raw connection
// to the test.
func upgradeUpstream(t *testing.T) (*upstream, <-chan rawUpgrade) {
	t.Helper()
	conns := make(chan rawUpgrade, 1)
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		conns <- rawUpgrade{conn: c.(*net.TCPConn), r: brw.Reader}
	})
	return up, conns
}

// dialUpgrade sends an upgrade request for path through the gateway and
// reads the 101.
func dialUpgrade(t *testing.T, g *testGateway, path string) rawUpgrade {
	t.Helper()
	c, err := net.Dial("tcp", g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, err = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+g.srv.Listener.Addr().String()+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the gateway: %s", res.Status)
	}
	return rawUpgrade{conn: c.(*net.TCPConn), r: r}
}

// readEnd reads from u until its connection ends and returns what it read;
// it fails the test if the end does not come within 5s (a bound, not a
// measure: the end is due at once).
func readEnd(t *testing.T, who string, u rawUpgrade) string {
	t.Helper()
	_ = u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(u.r)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: connection still open 5s after the other side ended (read %q)", who, b)
	}
	return string(b)
}

// TestUpgradeHalfCloseClosesBothSides half-closes one side of a WebSocket:
// the upstream's (as a replica that dies does: its kernel sends FIN) or the
// client's. The gateway must pass on the last bytes, then close both
// connections, not forward the half-close and keep copying the other side's
// writes into a dead peer.
func TestUpgradeHalfCloseClosesBothSides(t *testing.T) {
	for _, c := range []struct {
		name, svc, path string
		upstreamEnds    bool
	}{
		{"upstream ends", redisSvc, "/tracking/redis/ws", true},
		{"client ends", kafkaSvc, "/tracking/kafka/ws", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			up, conns := upgradeUpstream(t)
			g := newTestGateway(t, map[string][]string{c.svc: {up.addr()}})
			client := dialUpgrade(t, g, c.path)
			server := <-conns
			defer server.conn.Close()

			if _, err := io.WriteString(client.conn, "before"); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, len("before"))
			if _, err := io.ReadFull(server.r, buf); err != nil || string(buf) != "before" {
				t.Fatalf("upstream read %q %v", buf, err)
			}
			ender, other, enderName, otherName := server, client, "upstream", "client"
			if !c.upstreamEnds {
				ender, other, enderName, otherName = client, server, "client", "upstream"
			}
			if _, err := io.WriteString(ender.conn, "last words"); err != nil {
				t.Fatal(err)
			}
			if err := ender.conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := readEnd(t, otherName, other); got != "last words" {
				t.Errorf("%s read %q before the end, want the %s's last bytes", otherName, got, enderName)
			}
			// The ender still reads: had the gateway kept the exchange open,
			// it would block here; the gateway closed its side instead.
			if got := readEnd(t, enderName, ender); got != "" {
				t.Errorf("%s got %q after its end", enderName, got)
			}
		})
	}
}

// TestUpgradeEndCountsTheExchangeOut checks that an upstream that dies ends
// the exchange in the metrics too (goleak in TestMain checks the copiers).
func TestUpgradeEndCountsTheExchangeOut(t *testing.T) {
	up, conns := upgradeUpstream(t)
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	client := dialUpgrade(t, g, "/tracking/redis/ws")
	server := <-conns
	server.conn.Close()
	readEnd(t, "client", client)
	testsupport.Eventually(t, 5*time.Second, "the upgraded exchange counted out", func() bool {
		return g.counter(t, "gateway_active_connections", map[string]string{"route": "worker_ws"}) == 0 &&
			g.counter(t, "gateway_requests_total", map[string]string{"route": "worker_ws", "code": "101"}) == 1
	})
	if s := g.logs.String(); strings.Contains(s, "panic") {
		t.Errorf("gateway logged a panic:\n%s", s)
	}
}
