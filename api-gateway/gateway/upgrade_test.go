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

// TestUpgradeUpstreamEndClosesBothSides half-closes the upstream's side of a
// WebSocket (as a replica that dies does: its kernel sends FIN): the gateway
// must close the client's connection and the upstream's, not forward the
// half-close and keep copying the client's writes into a dead upstream.
func TestUpgradeUpstreamEndClosesBothSides(t *testing.T) {
	up, conns := upgradeUpstream(t)
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	client := dialUpgrade(t, g, "/tracking/redis/ws")
	server := <-conns
	defer server.conn.Close()

	if _, err := io.WriteString(client.conn, "before"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("before"))
	if _, err := io.ReadFull(server.r, buf); err != nil || string(buf) != "before" {
		t.Fatalf("upstream read %q %v", buf, err)
	}
	if _, err := io.WriteString(server.conn, "last words"); err != nil {
		t.Fatal(err)
	}
	if err := server.conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got := readEnd(t, "client", client); got != "last words" {
		t.Errorf("client read %q before the end, want the upstream's last bytes", got)
	}
	// The upstream still reads: had the gateway kept the exchange open, it
	// would block here; the gateway closed its side instead.
	if got := readEnd(t, "upstream", server); got != "" {
		t.Errorf("upstream got %q after its end", got)
	}
}

// TestUpgradeClientEndClosesBothSides is the other direction: a client that
// half-closes ends the exchange on both sides.
func TestUpgradeClientEndClosesBothSides(t *testing.T) {
	up, conns := upgradeUpstream(t)
	g := newTestGateway(t, map[string][]string{kafkaSvc: {up.addr()}})
	client := dialUpgrade(t, g, "/tracking/kafka/ws")
	server := <-conns
	defer server.conn.Close()

	if _, err := io.WriteString(client.conn, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := client.conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got := readEnd(t, "upstream", server); got != "bye" {
		t.Errorf("upstream read %q, want the client's last bytes", got)
	}
	if got := readEnd(t, "client", client); got != "" {
		t.Errorf("client got %q after its end", got)
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
