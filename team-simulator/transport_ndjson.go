package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// ndjsonConn is a worker's streaming POST: the request body is the read end
// of a pipe the worker writes records into, so each record goes out as one
// HTTP chunk as soon as it is written (net/http flushes after every chunk of a
// request body). One goroutine runs the request and reads the summary the
// server answers with when the body ends.
type ndjsonConn struct {
	pw     *io.PipeWriter
	env    *runEnv
	url    string
	cancel context.CancelFunc
	dead   chan struct{}

	mu      sync.Mutex
	closing bool // close was called: the end of the stream is ours
	cause   error
}

var _ conn = (*ndjsonConn)(nil)

// ingestSummary is the service's answer at the end of a streaming POST.
type ingestSummary struct {
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Errors   []struct {
		Record  int    `json:"record"`
		Code    string `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	} `json:"errors"`
}

// dialNDJSON starts the POST and returns once its headers are on the wire, so
// that a refused connection is a dial error as with WebSocket.
func dialNDJSON(ctx context.Context, env *runEnv, url string) (*ndjsonConn, error) {
	pr, pw := io.Pipe()
	rctx, cancel := context.WithCancel(env.hard)
	wrote := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteHeaders: func() { once.Do(func() { close(wrote) }) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(rctx, trace), http.MethodPost, url, pr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ndjson %s: %w", url, err)
	}
	req.ContentLength = -1 // chunked: the body lasts as long as the worker
	req.Header.Set("Content-Type", "application/x-ndjson")
	n := &ndjsonConn{pw: pw, env: env, url: url, cancel: cancel, dead: make(chan struct{})}
	go n.roundTrip(req, pr)

	t := time.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case <-wrote:
		return n, nil
	case <-n.dead:
		err = n.err()
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("ndjson %s: no connection after %s", url, dialTimeout)
	}
	cancel()
	pw.CloseWithError(err)
	<-n.dead
	return nil, err
}

func (n *ndjsonConn) roundTrip(req *http.Request, pr *io.PipeReader) {
	defer close(n.dead)
	defer n.cancel()
	cause := n.do(req)
	// Unblock a worker stuck in a write to a stream that has ended.
	pr.CloseWithError(errStreamClosed)
	n.mu.Lock()
	n.cause = cause
	n.mu.Unlock()
}

func (n *ndjsonConn) do(req *http.Request) error {
	resp, err := n.env.client.Do(req)
	if err != nil {
		return fmt.Errorf("ndjson %s: %w", n.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("ndjson %s: read answer: %w", n.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ndjson %s: status %s: %.200s", n.url, resp.Status, body)
	}
	var s ingestSummary
	if err := json.Unmarshal(body, &s); err == nil && s.Rejected > 0 {
		n.env.c.errors.Add(s.Rejected)
		if len(s.Errors) > 0 {
			e := s.Errors[0]
			n.env.c.fail(fmt.Errorf("server rejected record %s: %s: %s", e.ID, e.Code, e.Message))
		}
		n.env.log.Debug("records rejected", "url", n.url, "accepted", s.Accepted, "rejected", s.Rejected)
	}
	n.mu.Lock()
	ours := n.closing
	n.mu.Unlock()
	if ours {
		return nil
	}
	// The server ended a body that was still streaming: its connection
	// lifetime or a drain. Come back as after any other reconnect hint.
	return &reconnectHint{reason: "stream ended by server"}
}

func (n *ndjsonConn) send(rec []byte) error {
	_, err := n.pw.Write(rec)
	return err
}

func (n *ndjsonConn) done() <-chan struct{} { return n.dead }

func (n *ndjsonConn) err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cause == nil {
		return errStreamClosed
	}
	return n.cause
}

func (n *ndjsonConn) abort() { n.cancel() }

// close ends the body, which makes the server answer with its summary, and
// waits for that answer within closeTimeout.
func (n *ndjsonConn) close() {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	n.pw.Close()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-n.dead:
	case <-t.C:
		n.cancel()
		<-n.dead
	}
}
