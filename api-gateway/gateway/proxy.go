package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teamtrack/api-gateway/balance"
	"github.com/teamtrack/api-gateway/redact"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/discovery"
)

// statusClientClosed is the status recorded when the client left before the
// upstream answered (nginx's 499).
const statusClientClosed = 499

// proxy forwards /tracking/{strategy}/** to the strategy's instances.
type proxy struct {
	cfg     *Config
	rp      *httputil.ReverseProxy
	tracker *balance.Tracker
	metrics *metrics
	auth    *authCheck
	log     *slog.Logger
}

func newProxy(cfg *Config, m *metrics, a *authCheck) *proxy {
	p := &proxy{cfg: cfg, tracker: balance.NewTracker(cfg.FailureCooldown), metrics: m, auth: a, log: cfg.Logger}
	p.rp = &httputil.ReverseProxy{
		Rewrite: p.rewrite,
		Transport: &retryTransport{
			next:    cfg.Transport,
			tracker: p.tracker,
			onConn:  p.connected,
			onError: p.upstreamError,
		},
		// Flush every write at once: SSE events and streamed responses must
		// not wait in a buffer.
		FlushInterval:  -1,
		BufferPool:     newBufferPool(),
		ModifyResponse: modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return p
}

// serve is the gin handler of /tracking/{strategy} and /tracking/{strategy}/*.
func (p *proxy) serve(c *gin.Context) {
	req := c.Request
	rt, ok := parseRoute(req.Method, req.URL, p.cfg.Services)
	if canonical := canonicalPath(req.URL.Path); !ok || !canonical {
		msg := fmt.Sprintf("unknown strategy %q: want one of %s", rt.Strategy, strategyList(p.cfg.Services))
		if !canonical {
			msg = "no route: a path has no empty, \".\" or \"..\" segment"
		}
		c.Set(logKeyStrategy, "unknown")
		p.metrics.requests.WithLabelValues("unknown", string(KindOther), noUpstream, "404").Inc()
		writeError(c.Writer, req, http.StatusNotFound, tracking.CodeNotFound, msg, 0)
		return
	}
	c.Set(logKeyStrategy, rt.Strategy)
	c.Set(logKeyRoute, string(rt.Kind))
	if !p.auth.allow(c, rt) {
		p.metrics.requests.WithLabelValues(rt.Strategy, string(rt.Kind), noUpstream, fmt.Sprint(c.Writer.Status())).Inc()
		return
	}

	insts := p.cfg.Resolver.Instances(rt.Service)
	if len(insts) == 0 {
		p.unavailable(c, rt, "no healthy instance of "+rt.Service)
		return
	}
	x := &exchange{route: rt, candidates: p.order(rt, insts)}
	start := time.Now()
	defer func() {
		// Also runs on the ErrAbortHandler panic of a broken stream, which
		// then goes on up to net/http.
		if x.release != nil {
			x.release()
		}
		status := c.Writer.Status()
		if x.status == http.StatusSwitchingProtocols {
			status = x.status // the hijacked writer never saw it
		}
		upstream := x.upstream
		if upstream == "" || x.unavailable {
			upstream = noUpstream
		}
		c.Set(logKeyUpstream, upstream)
		c.Set(logKeyAttempts, x.attempts)
		c.Set(logKeyStatus, status)
		p.metrics.requests.WithLabelValues(rt.Strategy, string(rt.Kind), upstream, fmt.Sprint(status)).Inc()
		p.metrics.duration.WithLabelValues(rt.Strategy, string(rt.Kind), upstream).Observe(time.Since(start).Seconds())
	}()
	if req.ContentLength != 0 {
		// An upload may go on while the upstream answers (HTTP/1 would
		// otherwise close the body once the response starts).
		rc := http.NewResponseController(c.Writer)
		_ = rc.EnableFullDuplex()
		x.upload = newUploadWatch(func() { _ = rc.SetReadDeadline(time.Now()) })
		defer x.upload.stop() // runs before the deferred metrics above
	}
	p.rp.ServeHTTP(c.Writer, req.WithContext(context.WithValue(req.Context(), exchangeKey{}, x)))
	if x.unavailable {
		p.metrics.upstreamErrors.WithLabelValues(rt.Strategy, noUpstream, "unavailable").Inc()
	}
}

// order returns the instances to try, best first, at most MaxAttempts.
func (p *proxy) order(rt route, insts []discovery.Instance) []discovery.Instance {
	var out []discovery.Instance
	if rt.byTeam() {
		out = balance.Rendezvous(rt.Team, insts, p.tracker)
	} else {
		out = balance.LeastConnections(insts, p.tracker)
	}
	return out[:min(len(out), p.cfg.MaxAttempts)]
}

func (p *proxy) unavailable(c *gin.Context, rt route, msg string) {
	p.metrics.requests.WithLabelValues(rt.Strategy, string(rt.Kind), noUpstream, "503").Inc()
	p.metrics.upstreamErrors.WithLabelValues(rt.Strategy, noUpstream, "unavailable").Inc()
	c.Set(logKeyUpstream, noUpstream)
	writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeUnavailable, msg, p.cfg.RetryAfter)
}

// rewrite builds the upstream request: the first candidate's address (the
// transport moves on to the next ones), the rewritten path, the client's Host
// (so the upstream's WebSocket origin check compares the browser's Origin
// with the host the browser used) and X-Forwarded-*.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	x := exchangeFrom(pr.In.Context())
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = x.candidates[0].Address
	pr.Out.URL.Path = x.route.Path
	pr.Out.URL.RawPath = x.route.RawPath
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
}

// connected counts an exchange in the active gauge once an upstream answered.
func (p *proxy) connected(x *exchange, upstream string) (release func()) {
	g := p.metrics.active.WithLabelValues(x.route.Strategy, string(x.route.Kind), upstream)
	g.Inc()
	return g.Dec
}

func (p *proxy) upstreamError(x *exchange, upstream, kind string) {
	p.metrics.upstreamErrors.WithLabelValues(x.route.Strategy, upstream, kind).Inc()
}

// proxyError answers a request no upstream answered.
func (p *proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeFrom(r.Context())
	log := p.log.With("request_id", r.Header.Get(requestIDHeader), "path", auth.RedactURL(r.URL))
	switch {
	case x != nil && x.upload != nil && x.upload.cut.Load():
		log.Warn("upstream died during an upload", "upstream", x.upstream, "err", redact.String(errorText(err)))
		writeError(w, r, http.StatusBadGateway, tracking.CodeUnavailable, "the upstream failed to answer", 0)
	case r.Context().Err() != nil:
		log.Debug("client left before the upstream answered", "err", err)
		w.WriteHeader(statusClientClosed) // recorded, never seen by the gone client
	case x != nil && x.unavailable:
		log.Warn("no instance accepted the connection", "service", x.route.Service, "tried", x.attempts, "err", err)
		writeError(w, r, http.StatusServiceUnavailable, tracking.CodeUnavailable,
			"no instance of "+x.route.Service+" accepted the connection", p.cfg.RetryAfter)
	default:
		// The error's text (addresses, syscalls) stays in the log: the
		// client gets the request id to find it.
		log.Warn("upstream failed", "err", redact.String(errorText(err)))
		writeError(w, r, http.StatusBadGateway, tracking.CodeUnavailable, "the upstream failed to answer", 0)
	}
}

// errorText is err without the URL that *url.Error puts in front.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// modifyResponse prepares an upstream's response for the client.
func modifyResponse(res *http.Response) error {
	for name := range res.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(name), "Access-Control-") {
			res.Header.Del(name) // the gateway owns CORS (cors.go)
		}
	}
	endBothOnUpgrade(res)
	jsonUpstreamError(res)
	return nil
}

func strategyList(services map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(services)), ", ")
}
