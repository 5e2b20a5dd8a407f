package view

import (
	"html/template"
	"net/http"
)

var notBuiltPage = template.Must(template.New("notbuilt").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Team tracking: view not built</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40em; margin: 4em auto; padding: 0 1em; color: #1d2430; }
code, pre { background: #f1f3f6; border-radius: 4px; padding: 0.1em 0.3em; }
pre { padding: 0.8em 1em; }
</style>
</head>
<body data-view-built="false">
<h1>The map view is not built</h1>
<p>This binary was compiled without the browser app. Build it (needs Node.js 20+ and npm),
then rebuild or restart the Go program so it embeds the result:</p>
<pre>{{.Command}}</pre>
<p>The tracking API under <code>/tracking/</code> works without it.</p>
</body>
</html>
`))

// serveNotBuilt answers the page when dist/ holds only the placeholder:
// 503, since the service is there but this part of it is not.
func serveNotBuilt(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", cacheNotBuilt)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method == http.MethodHead {
		return
	}
	_ = notBuiltPage.Execute(w, struct{ Command string }{BuildCommand}) // a write error means the client left
}
