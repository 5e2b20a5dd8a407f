package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/teamtrack/api-gateway/balance"
	"github.com/teamtrack/tracking-core/discovery"
)

// NewTransport returns an http.Transport for proxying: it passes bodies
// through untouched (no compression), never times out a response (uploads
// and streams last minutes), and gives up connecting after dialTimeout so the
// next instance can be tried.
func NewTransport(dialTimeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil, // the upstreams are ours: never through an HTTP proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newWatchedConn(c), nil // see upload.go
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// exchange is the state of one proxied request, shared by the handler, the
// retrying transport and the error handler through the request context.
type exchange struct {
	route      route
	candidates []discovery.Instance // in order of preference

	// Set by the transport once an upstream answered.
	upstream string
	status   int
	release  func() // counts the connection out of the tracker and the gauge
	attempts int
	// unavailable is set when every candidate refused the connection.
	unavailable bool
	// upload, for a request with a body, ends it when the upstream dies.
	upload *uploadWatch
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// retryTransport sends a request to its exchange's candidates in turn until
// one accepts the connection. It moves on only after a connect failure with
// no byte of the body read, so nothing is ever sent twice.
type retryTransport struct {
	next    http.RoundTripper
	tracker *balance.Tracker
	onConn  func(x *exchange, upstream string) (release func())
	onError func(x *exchange, upstream, kind string)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x := exchangeFrom(req.Context())
	if x == nil || len(x.candidates) == 0 {
		return t.next.RoundTrip(req)
	}
	var body *trackedBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &trackedBody{r: req.Body} // ReverseProxy closes req.Body when done
	}
	var lastErr error
	for _, inst := range x.candidates {
		ctx := req.Context()
		if x.upload != nil {
			ctx = httptrace.WithClientTrace(ctx, x.upload.trace())
		}
		out := req.Clone(ctx)
		out.URL.Host = inst.Address
		if body != nil {
			out.Body = body
		}
		x.attempts++
		release := t.tracker.Acquire(inst.Address)
		res, err := t.next.RoundTrip(out)
		if err == nil {
			t.tracker.Succeeded(inst.Address)
			x.upstream, x.status = inst.Address, res.StatusCode
			gaugeRelease := t.onConn(x, inst.Address)
			x.release = func() { release(); gaugeRelease() }
			return res, nil
		}
		release()
		lastErr = err
		x.upstream = inst.Address
		if req.Context().Err() != nil && (x.upload == nil || !x.upload.cut.Load()) {
			return nil, err // the client left: not the upstream's fault
		}
		if !isConnectError(err) {
			t.onError(x, inst.Address, "other")
			return nil, err
		}
		t.tracker.Failed(inst.Address)
		t.onError(x, inst.Address, "connect")
		if body != nil && body.read.Load() {
			return nil, err // a byte may have left: not safe to replay
		}
	}
	x.unavailable = true
	return nil, lastErr
}

// isConnectError reports whether err is a failure to connect (refused,
// unreachable, timed out while dialing), after which nothing was sent.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// trackedBody lends the request body to each attempt: the transport's Close
// after a failed attempt must not close it for the next one, and a read
// means the body can no longer be replayed.
type trackedBody struct {
	r    io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *trackedBody) Close() error { return nil }
