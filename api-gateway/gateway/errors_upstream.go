package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// jsonUpstreamError replaces an upstream's error answered in another shape
// than JSON (net/http's plain-text 404 and 405, a proxy's HTML page) with the
// gateway's JSON error of the same status. JSON errors pass untouched: the
// tracking services answer in the shape the gateway shares.
func jsonUpstreamError(res *http.Response) {
	if res.StatusCode < 400 || isJSON(res.Header.Get("Content-Type")) {
		return
	}
	code, msg := errorForStatus(res.StatusCode)
	var id string
	if res.Request != nil {
		id = res.Request.Header.Get(requestIDHeader)
	}
	body, _ := json.Marshal(errorBody{Code: code, Message: msg, RequestID: id})
	body = append(body, '\n')
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.TransferEncoding = nil
	h := res.Header
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Encoding")
	h.Del("X-Content-Type-Options")
}
