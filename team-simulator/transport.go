package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// Transport is how a worker sends its positions.
type Transport string

const (
	// TransportWebSocket: GET {base}ws, one text message per record.
	TransportWebSocket Transport = "ws"
	// TransportNDJSON: one long-lived chunked POST {base} per worker, one
	// record per line.
	TransportNDJSON Transport = "ndjson"
)

func (t Transport) validate() error {
	switch t {
	case TransportWebSocket, TransportNDJSON:
		return nil
	}
	return fmt.Errorf("unknown transport %q (want ws or ndjson)", t)
}

// dialTimeout bounds connection set-up; closeTimeout bounds a clean close.
const (
	dialTimeout  = 10 * time.Second
	closeTimeout = 5 * time.Second
)

// conn is one worker's connection to the tracking service. send is called by
// the worker goroutine only; close may be called once, by the same goroutine.
type conn interface {
	// send writes one record; rec is only valid during the call.
	send(rec []byte) error
	// done is closed when the connection has ended on its own (the server
	// closed it, or it broke); err then says why.
	done() <-chan struct{}
	// err is an *apiclient.ReconnectError when the server asked the client to reconnect.
	err() error
	// close ends the connection cleanly, within closeTimeout, and waits for its
	// goroutines.
	close()
	// abort cuts the connection at once, releasing a blocked send; it may be
	// called from any goroutine, and close must still be called.
	abort()
}

// isHint reports whether err is the server asking the client to reconnect
// (an *apiclient.ReconnectError), typically to another replica.
func isHint(err error) bool { return apiclient.IsReconnect(err) }

// errStreamClosed is the error of a send on a connection that has ended.
var errStreamClosed = errors.New("stream closed")

// runEnv is what every worker and manager of one run shares.
type runEnv struct {
	client  *http.Client
	c       *counters
	log     *slog.Logger
	backoff Backoff
	now     func() time.Time
	// creds sign or hand out the tokens connections present; nil: none.
	creds *credentials
	// refusalLogged is set once a refused connection (401, 403) was logged.
	refusalLogged *atomic.Bool
	// hard is cancelled once a clean shutdown has had its grace: it forcibly
	// closes connections that a blocked write or a silent peer keeps open.
	hard context.Context
	// ignoreAdvice: workers keep their configured interval whatever the
	// server advises (the advice is still counted).
	ignoreAdvice bool
	// readAfter > 0: WebSocket workers send a read receipt this long after
	// each dispatch message (besides the immediate ack).
	readAfter time.Duration
	// firstSend, when set, takes the wall-clock time (Unix ns) of the
	// run's first attempted position (count mode measures from it).
	firstSend *atomic.Int64
}

// newHTTPClient returns a client for many long-lived connections to few hosts:
// no per-host limit, no compression (it would buffer SSE), no overall timeout
// (streams live as long as the run).
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: 0,
		ExpectContinueTimeout: time.Second,
	}}
}

// dial opens a worker connection to the API at base (ending in '/'),
// presenting header (the token; nil: none). w takes the server's sampling
// advice (nil: only counted).
func dial(ctx context.Context, env *runEnv, t Transport, base string, header http.Header, w *worker) (conn, error) {
	c, err := apiclient.New(base, apiclient.Config{HTTPClient: env.client, Header: header, DialTimeout: dialTimeout, CloseTimeout: closeTimeout})
	if err != nil {
		return nil, err
	}
	if t == TransportNDJSON {
		return dialNDJSON(ctx, env, c, header, w)
	}
	return dialWS(ctx, env, c, header, w)
}

// normalizeBaseURL checks that u is an http(s) or ws(s) URL and makes it end
// in '/', so that paths are appended to it.
func normalizeBaseURL(u string) (string, error) {
	u = strings.TrimSpace(u)
	switch {
	case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"):
	case strings.HasPrefix(u, "ws://"):
		u = "http://" + u[len("ws://"):]
	case strings.HasPrefix(u, "wss://"):
		u = "https://" + u[len("wss://"):]
	default:
		return "", fmt.Errorf("base URL %q: want http(s)://host:port/path/", u)
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u, nil
}
