package gateway

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teamtrack/tracking-core/auth"
)

// Keys under which the proxy leaves facts for the access log.
const (
	logKeyStrategy = "gateway.strategy"
	logKeyRoute    = "gateway.route"
	logKeyUpstream = "gateway.upstream"
	logKeyAttempts = "gateway.attempts"
	logKeyStatus   = "gateway.status"
)

// accessLog logs one line per request once it is over (for a stream: when
// the stream ends), also when a broken stream aborts the handler. Operator
// endpoints log at debug level. The path's query goes through
// auth.RedactURL, which redacts token parameters however their names are
// percent-encoded; the logger's handler (redact.Handler) is the safety net
// of every other line. The Authorization header is never logged.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		aborted := true
		defer func() {
			status := c.Writer.Status()
			if s, ok := c.Get(logKeyStatus); ok {
				status = s.(int)
			}
			level := slog.LevelInfo
			switch c.Request.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				level = slog.LevelDebug
			}
			// A stream cut short: by the client leaving (ordinary for a
			// manager closing the map) or by the upstream breaking it.
			clientLeft := aborted && c.Request.Context().Err() != nil
			if aborted && !clientLeft {
				level = slog.LevelWarn
			}
			attrs := []slog.Attr{
				slog.String("method", c.Request.Method),
				slog.String("path", auth.RedactURL(c.Request.URL)),
				slog.Int("status", status),
				slog.Int("bytes", max(c.Writer.Size(), 0)),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", c.Writer.Header().Get(requestIDHeader)),
				slog.String("remote", c.ClientIP()),
			}
			for _, k := range []string{logKeyStrategy, logKeyRoute, logKeyUpstream, logKeySubject, logKeyAuthErr} {
				if v := c.GetString(k); v != "" {
					attrs = append(attrs, slog.String(k[len("gateway."):], v))
				}
			}
			if n := c.GetInt(logKeyAttempts); n > 1 {
				attrs = append(attrs, slog.Int("attempts", n))
			}
			switch {
			case clientLeft:
				attrs = append(attrs, slog.String("ended", "client left"))
			case aborted:
				attrs = append(attrs, slog.String("ended", "aborted"))
			}
			log.LogAttrs(c.Request.Context(), level, "request", attrs...)
		}()
		c.Next()
		aborted = false
	}
}
