package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/gin-gonic/gin"
)

const requestIDHeader = "X-Request-ID"

// requestID makes sure every request has an X-Request-ID: the client's when
// it is sane, else a new one. It is set on the request (so the upstream gets
// it) and on the response.
func requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
		c.Request.Header.Set(requestIDHeader, id)
	}
	c.Header(requestIDHeader, id)
	c.Next()
}

// validRequestID accepts 1-128 characters of [A-Za-z0-9._:-]: enough for
// UUIDs and trace ids, nothing that could forge a log line.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`).MatchString

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
