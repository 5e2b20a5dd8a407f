package gateway

import "net/http"

// jsonErrorsWriter passes a handler's answer through, except an error
// (status >= 400) answered in another shape than JSON: that one becomes the
// gateway's JSON error of the same status, keeping headers such as Allow.
// The view (a file server) answers its 404 and 405 in plain text.
type jsonErrorsWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (w *jsonErrorsWriter) WriteHeader(status int) {
	if status < 400 || isJSON(w.Header().Get("Content-Type")) {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	w.Header().Del("X-Content-Type-Options")
	code, msg := errorForStatus(status)
	writeError(w.ResponseWriter, w.r, status, code, msg, 0)
}

func (w *jsonErrorsWriter) Write(p []byte) (int, error) {
	if w.replaced {
		return len(p), nil // the handler's own error body
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (w *jsonErrorsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
