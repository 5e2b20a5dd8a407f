package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	tracking "github.com/teamtrack/tracking-core"
)

// healthz is liveness: 200 while the process serves.
func healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz is 200 once discovery knows every service's instances, and 503
// while draining or before.
func (g *Gateway) readyz(c *gin.Context) {
	if g.draining.Load() {
		writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeShuttingDown, "draining", g.cfg.RetryAfter)
		return
	}
	if err := g.cfg.Resolver.Ready(); err != nil {
		writeError(c.Writer, c.Request, http.StatusServiceUnavailable, tracking.CodeUnavailable, err.Error(), g.cfg.RetryAfter)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
