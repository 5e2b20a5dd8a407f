package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"

	tracking "github.com/teamtrack/tracking-core"
)

// recovery turns a panic into a 500 and a log line with the stack, except
// http.ErrAbortHandler: the proxy's way to cut a stream that broke midway,
// which must reach net/http so the client sees a broken connection rather
// than a clean end.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, _ := v.(error); errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.Error("panic serving request", "path", c.Request.URL.RequestURI(),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				writeError(c.Writer, c.Request, http.StatusInternalServerError, tracking.CodeInternal, tracking.InternalMessage, 0)
			}
			c.Abort()
		}()
		c.Next()
	}
}
