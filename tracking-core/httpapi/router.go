package httpapi

import (
	"net/http"
	"slices"
)

// router is the API's ServeMux that also keeps the patterns registered on
// it, in order: Routes lists them, so that a test can hold the API's
// description (docs/openapi.yaml) to what is really served.
type router struct {
	*http.ServeMux
	patterns []string
}

func (r *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.HandleFunc(pattern, h)
}

func (r *router) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.Handle(pattern, h)
}

// Routes returns the patterns of every route the API serves, as given to
// http.ServeMux ("GET /tracking/{team}/ws", "POST /tracking/{$}", ...; the
// catch-all "/" answers 404 in the API's error shape).
func (a *API) Routes() []string { return slices.Clone(a.mux.patterns) }
