package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

// Post sends body (records, NDJSON or concatenated) as one POST to the base
// URL and returns the server's answer. Any status but 200 is a *StatusError;
// the answer is returned with it when the server sent one (429: a flooding
// connection cut off).
func (c *Client) Post(ctx context.Context, body io.Reader) (wire.IngestAnswer, error) {
	url := c.postURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return wire.IngestAnswer{}, fmt.Errorf("post %s: %w", redact(url), err)
	}
	for k, v := range c.header() {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return wire.IngestAnswer{}, fmt.Errorf("post %s: %w", redact(url), err)
	}
	defer resp.Body.Close()
	return readAnswer(url, resp)
}

// readAnswer reads a POST's answer: the summary, and a *StatusError unless 200.
func readAnswer(url string, resp *http.Response) (wire.IngestAnswer, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return wire.IngestAnswer{}, fmt.Errorf("post %s: read the answer: %w", redact(url), err)
	}
	a, derr := wire.DecodeIngestAnswer(b)
	if resp.StatusCode != http.StatusOK {
		return a, newStatusError(http.MethodPost, url, resp, b)
	}
	if derr != nil {
		return a, fmt.Errorf("post %s: %w", redact(url), derr)
	}
	return a, nil
}

// PostStream is a worker's streaming POST: the request body is a pipe that
// Write feeds, so that each record goes out as one HTTP chunk as soon as it
// is written (net/http flushes after every chunk of a request body). One
// goroutine runs the request and reads the answer the server sends when the
// body ends.
type PostStream struct {
	pw      *io.PipeWriter
	url     string
	cancel  context.CancelFunc
	dead    chan struct{}
	timeout time.Duration

	mu      sync.Mutex
	closing bool // Close was called: the end of the body is ours
	answer  wire.IngestAnswer
	cause   error
}

// OpenPost starts a streaming POST to the base URL and returns once the
// server takes its body, so that a refusal (401, 403, 503) is an error of
// OpenPost, a *StatusError, as with a WebSocket. When ctx is done the
// request is cut at once.
//
// The request asks `Expect: 100-continue`: the body goes out once the server
// answers 100 Continue (a Go server does when its handler first reads the
// body), or after the transport's ExpectContinueTimeout from a server that
// ignores Expect; a server that refuses answers with its status instead and
// the body is never started. It also asks `Connection: close`: a Go server
// that refuses without reading the body would otherwise try to drain a body
// that never ends before answering.
func (c *Client) OpenPost(ctx context.Context) (*PostStream, error) {
	url := c.postURL()
	pr, pw := io.Pipe()
	rctx, cancel := context.WithCancel(ctx)
	body := &startReader{r: pr, started: make(chan struct{})}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("post %s: %w", redact(url), err)
	}
	req.ContentLength = -1 // chunked: the body lasts as long as the worker
	for k, v := range c.header() {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Expect", "100-continue")
	req.Close = true
	p := &PostStream{pw: pw, url: url, cancel: cancel, dead: make(chan struct{}), timeout: c.cfg.CloseTimeout}
	go p.roundTrip(c.cfg.HTTPClient, req, pr)

	t := time.NewTimer(c.cfg.DialTimeout)
	defer t.Stop()
	select {
	case <-body.started:
		return p, nil
	case <-p.dead:
		err = p.Err()
	case <-t.C:
		err = fmt.Errorf("post %s: no answer after %s", redact(url), c.cfg.DialTimeout)
	}
	cancel()
	pw.CloseWithError(err)
	<-p.dead
	return nil, err
}

// startReader is a request body that tells when the transport first reads
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

func (p *PostStream) roundTrip(client *http.Client, req *http.Request, pr *io.PipeReader) {
	defer close(p.dead)
	defer p.cancel()
	a, err := p.do(client, req)
	// Unblock a Write to a body that nobody reads any more.
	pr.CloseWithError(errPostEnded)
	p.mu.Lock()
	p.answer, p.cause = a, err
	p.mu.Unlock()
}

var errPostEnded = fmt.Errorf("post: the request has ended")

func (p *PostStream) do(client *http.Client, req *http.Request) (wire.IngestAnswer, error) {
	resp, err := client.Do(req)
	if err != nil {
		return wire.IngestAnswer{}, fmt.Errorf("post %s: %w", redact(p.url), err)
	}
	defer resp.Body.Close()
	a, err := readAnswer(p.url, resp)
	if err != nil {
		return a, err
	}
	p.mu.Lock()
	ours := p.closing
	p.mu.Unlock()
	if ours {
		return a, nil
	}
	// The server ended a body that was still streaming: shutdown, token
	// expiry, a newer connection of the worker.
	reason := a.Reason
	if reason == "" {
		reason = "ended by server"
	}
	return a, &ReconnectError{Reason: reason}
}

// Write sends p (records; each Write goes out as one chunk). It fails once
// the request has ended.
func (p *PostStream) Write(b []byte) (int, error) { return p.pw.Write(b) }

// Done is closed when the request has ended: after Close, or on its own (the
// server answered early, or the connection broke); Err then says why.
func (p *PostStream) Done() <-chan struct{} { return p.dead }

// Err is why the request ended: nil after a clean Close, a *ReconnectError
// when the server cut the body short, a *StatusError for a refusal (429: cut
// off for flooding), else the transport's error. Nil while it lasts.
func (p *PostStream) Err() error {
	select {
	case <-p.dead:
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause
}

// Answer is the server's answer, once Done is closed (zero before, or when
// the server sent none).
func (p *PostStream) Answer() wire.IngestAnswer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answer
}

// CloseNow cuts the request at once, releasing a blocked Write, and waits for it.
func (p *PostStream) CloseNow() {
	p.cancel()
	// Cancelling the request does not stop the transport's writer, which
	// waits on the body pipe: end the pipe too.
	p.pw.CloseWithError(context.Canceled)
	<-p.dead
}

// Close ends the body, which makes the server answer, and waits for that
// answer within the client's CloseTimeout (then cuts the request).
func (p *PostStream) Close() (wire.IngestAnswer, error) {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.pw.Close()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.dead:
	case <-t.C:
		p.cancel()
		<-p.dead
	}
	return p.Answer(), p.Err()
}
