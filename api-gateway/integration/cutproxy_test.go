package integration_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// cutProxy is a TCP proxy in front of the gateway for a browser, which the
// test can cut as a network outage would: cut closes every connection
// through it, and until restore every new connection is closed after its
// request arrived, without an answer. A browser's EventSource sees network
// errors, not an HTTP status, so it keeps reconnecting by itself. Bytes pass
// untouched; the proxy reads a copy of what the browser sends to note each
// request's path and Last-Event-ID header.
type cutProxy struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{} // both ends of every proxied connection
	reqs  []proxiedRequest
}

// proxiedRequest is one request the browser sent through the proxy.
type proxiedRequest struct {
	At          time.Time
	URI         string // path and query
	LastEventID string
	Refused     bool // it came during a cut and got no answer
}

// startCutProxy listens on 127.0.0.1 and forwards to upstream (host:port);
// it is closed when the test ends.
func startCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// url is the proxy's base URL: the browser's origin.
func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *cutProxy) serve(client net.Conn) {
	p.mu.Lock()
	cut := p.cut
	p.mu.Unlock()
	if cut {
		p.refuse(client)
		return
	}
	up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.cut { // cut meanwhile
		p.mu.Unlock()
		up.Close()
		p.refuse(client)
		return
	}
	p.conns[client], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, up)
		p.mu.Unlock()
		client.Close()
		up.Close()
	}()

	// The browser's bytes go to the gateway as they are, and through a pipe
	// to a reader of the requests in them.
	pr, pw := io.Pipe()
	var conn sync.WaitGroup
	conn.Go(func() { p.readRequests(pr) })
	conn.Go(func() {
		_, err := io.Copy(up, io.TeeReader(client, pw))
		pw.CloseWithError(err)
		up.Close() // a browser never half-closes an HTTP/1.1 connection
	})
	_, _ = io.Copy(client, up)
	client.Close() // ends the copy above when the gateway ended first
	conn.Wait()
}

// refuse notes the request of a connection made during a cut and closes
// the connection without an answer.
func (p *cutProxy) refuse(client net.Conn) {
	defer client.Close()
	_ = client.SetReadDeadline(time.Now().Add(2 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(client))
	if err != nil {
		return // a connection opened ahead of need, with no request in time
	}
	p.note(req, true)
}

// readRequests notes every request in r, a copy of what a browser sent on
// one connection, and reads r to its end (a WebSocket's frames after its
// upgrade request do not parse, and are skipped).
func (p *cutProxy) readRequests(r io.Reader) {
	br := bufio.NewReader(r)
	defer func() { _, _ = io.Copy(io.Discard, br) }()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		p.note(req, false)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
	}
}

func (p *cutProxy) note(req *http.Request, refused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, proxiedRequest{At: time.Now(), URI: req.RequestURI, LastEventID: req.Header.Get("Last-Event-ID"), Refused: refused})
}

// requests returns the requests seen so far, in order.
func (p *cutProxy) requests() []proxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reqs)
}

// cutNow closes every connection through the proxy and refuses new ones
// until restore.
func (p *cutProxy) cutNow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// restore ends the cut: new connections are proxied again.
func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// close stops the proxy and waits for its goroutines.
func (p *cutProxy) close() {
	_ = p.ln.Close()
	p.cutNow()
	p.wg.Wait()
}
