package gateway

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/buildinfo"
)

// healthz is liveness: 200 while the process serves, with the build.
func healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, buildinfo.Health())
}

// readyz is 200 while the gateway can route every strategy: discovery has
// answered for every service and each has at least one healthy instance. It
// is 503 while draining, before discovery answered, and while a strategy has
// no instance (its requests would all get 503: a load balancer in front
// should prefer a gateway that sees instances).
func (g *Gateway) readyz(c *gin.Context) {
	if g.draining.Load() {
		writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeShuttingDown, "draining", g.cfg.RetryAfter)
		return
	}
	if err := g.cfg.Resolver.Ready(); err != nil {
		g.cfg.Logger.Debug("not ready: discovery has not answered", "err", err)
		writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeUnavailable,
			"service discovery has not answered yet", g.cfg.RetryAfter)
		return
	}
	var empty []string
	for _, strategy := range slices.Sorted(maps.Keys(g.cfg.Services)) {
		if svc := g.cfg.Services[strategy]; len(g.cfg.Resolver.Instances(svc)) == 0 {
			empty = append(empty, strategy+" ("+svc+")")
		}
	}
	if len(empty) > 0 {
		writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeUnavailable,
			"no healthy instance for "+strings.Join(empty, ", "), g.cfg.RetryAfter)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
