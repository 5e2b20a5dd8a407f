package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// dialNDJSON starts the POST and returns once the server takes its body, so
// that a refused connection (401, 403, 503) is a dial error as with
// WebSocket. The request asks `Expect: 100-continue`: the transport sends
// the body once the server answers 100 Continue (a Go server does when its
// handler first reads the body), or after the client's ExpectContinueTimeout
// from a server or proxy that ignores Expect; a server that refuses answers
// with its status instead, and the body is never started.
func dialNDJSON(ctx context.Context, env *runEnv, url string, header http.Header) (*ndjsonConn, error) {
	pr, pw := io.Pipe()
	rctx, cancel := context.WithCancel(env.hard)
	body := &startReader{r: pr, started: make(chan struct{})}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ndjson %s: %w", url, err)
	}
	req.ContentLength = -1 // chunked: the body lasts as long as the worker
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Expect", "100-continue")
	// Connection: close. A Go server that refuses the POST without reading
	// its body would otherwise try to read what is left of it (to reuse the
	// connection), and a body that never ends would hold its answer back. A
	// streaming POST holds its connection for its whole life anyway.
	req.Close = true
	n := &ndjsonConn{pw: pw, env: env, url: url, cancel: cancel, dead: make(chan struct{})}
	go n.roundTrip(req, pr)

	t := time.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case <-body.started:
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

// startReader is a request body that says when the transport starts to read
// it: the server took the request.
type startReader struct {
	r       io.Reader
	started chan struct{}
	once    sync.Once
}

func (s *startReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	return s.r.Read(p)
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
	if aerr := refused(n.url, resp.StatusCode, resp.Body, req.Header); aerr != nil {
		return aerr
	}
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
