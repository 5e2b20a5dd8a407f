package main

import (
	"net/http"

	view "github.com/teamtrack/team-tracking-view"
)

// viewHandler serves the map view (embedded in the binary; a page telling how
// to build it when it was not built).
func viewHandler() http.Handler { return view.Handler() }
