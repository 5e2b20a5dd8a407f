package gateway

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// Gateway is the gateway's HTTP handler. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	engine   *gin.Engine
	proxy    *proxy
	draining atomic.Bool
}

var _ http.Handler = (*Gateway)(nil)

// New returns a Gateway. It does not own cfg.Resolver: the caller closes it
// after the server has stopped.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg}
	g.proxy = newProxy(&g.cfg, newMetrics(cfg.Registry), newAuthCheck(&g.cfg, cfg.Registry))
	registerInstances(cfg.Registry, g.cfg.Resolver, g.cfg.Services)

	e := gin.New()
	// Paths are the API's: no redirects to a "fixed" path, /tracking/redis
	// and /tracking/redis/ are both routes.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	// A known path with another method is a JSON 405 with Allow (gin's
	// own answer would be plain text).
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(requestID, accessLog(cfg.Logger), recovery(cfg.Logger), cors(cfg.AllowedOrigins))

	for _, m := range []string{http.MethodGet, http.MethodHead} {
		e.Handle(m, "/healthz", healthz)
		e.Handle(m, "/readyz", g.readyz)
		e.Handle(m, authConfigPath, g.authConfig)
	}
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	if cfg.AuthMode == auth.ModeDev {
		// In every other mode the route does not exist: a 404 like any
		// unknown path under /auth.
		e.POST(devLoginPath, g.devLogin)
	}
	e.Any("/tracking/:strategy", g.proxy.serve)
	e.Any("/tracking/:strategy/*rest", g.proxy.serve)
	e.NoRoute(g.fallback)
	e.NoMethod(methodNotAllowed)
	g.engine = e
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.engine.ServeHTTP(w, r) }

// SetDraining makes /readyz answer 503, so that a load balancer in front
// stops sending new clients while the server shuts down.
func (g *Gateway) SetDraining() { g.draining.Store(true) }

// Close drops idle upstream connections. Call it after the server stopped.
func (g *Gateway) Close() {
	if t, ok := g.cfg.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// fallback serves the view, and a JSON 404 under /tracking (no strategy)
// and /auth.
func (g *Gateway) fallback(c *gin.Context) {
	p := c.Request.URL.Path
	if underPrefix(p, "/tracking") || underPrefix(p, "/auth") || g.cfg.View == nil {
		writeError(c.Writer, c.Request, http.StatusNotFound, tracking.CodeNotFound,
			"no route for "+c.Request.Method+" "+p+"; the API is under /tracking/{"+strategyList(g.cfg.Services)+"}/", 0)
		return
	}
	c.Status(http.StatusOK) // gin preset 404 for NoRoute; the view decides
	g.cfg.View.ServeHTTP(&jsonErrorsWriter{ResponseWriter: c.Writer, r: c.Request}, c.Request)
}

// methodNotAllowed answers a known path asked with another method; gin has
// set Allow.
func methodNotAllowed(c *gin.Context) {
	writeError(c.Writer, c.Request, http.StatusMethodNotAllowed, tracking.CodeBadRequest,
		c.Request.Method+" is not allowed here; use "+c.Writer.Header().Get("Allow"), 0)
}

// underPrefix reports whether path is prefix or below it.
func underPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// Routes lists the routes the gateway serves, "METHOD /path" in gin's
// syntax (/tracking/:strategy/*rest), so that a test can hold the API's
// description (docs/openapi.yaml) to them. The view is served for every
// other path (NoRoute) and is not listed.
func (g *Gateway) Routes() []string {
	var out []string
	for _, r := range g.engine.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}
