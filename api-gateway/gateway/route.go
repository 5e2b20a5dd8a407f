package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Kind classifies a proxied request by who makes it, which decides how an
// upstream is chosen. Its string is the metrics' route label.
type Kind string

const (
	KindPublish   Kind = "publish"   // POST /tracking: a worker's NDJSON stream
	KindWorkerWS  Kind = "worker_ws" // GET /tracking/ws: a worker's WebSocket
	KindTeamSSE   Kind = "team_sse"  // GET /tracking/{team}: a manager's SSE stream
	KindTeamWS    Kind = "team_ws"   // GET /tracking/{team}/ws: a manager's WebSocket
	KindPositions Kind = "positions" // GET /tracking/{team}/positions
	KindPhone     Kind = "phone"     // /osmand, /owntracks: phone apps, authenticated by the service
	KindDevices   Kind = "devices"   // /devices: the device registry (admins)
	KindOther     Kind = "other"     // anything else under /tracking
)

// rootRoutes are the service's routes outside /tracking, reached through
// /tracking/{strategy}/{name}: the phone protocols and the device registry
// (so a team of one of these names is not watchable through the gateway,
// as one named ws is not).
var rootRoutes = map[string]Kind{"osmand": KindPhone, "owntracks": KindPhone, "devices": KindDevices}

// route is a request under /tracking/{strategy}, once matched.
type route struct {
	Strategy string
	Service  string
	Kind     Kind
	Team     string // for the team kinds
	Path     string // upstream path: the prefix /tracking/{strategy} rewritten to /tracking
	RawPath  string // upstream RawPath, when the request had one
}

// byTeam reports whether the route is a team's stream, sent to the team's
// rendezvous instance.
func (r route) byTeam() bool {
	return r.Kind == KindTeamSSE || r.Kind == KindTeamWS || r.Kind == KindPositions
}

const trackingPrefix = "/tracking/"

// splitStrategy returns the strategy of a /tracking/{strategy}[/...] path and
// the rest after it ("" or "/..."); ok is false for other paths.
func splitStrategy(path string) (strategy, rest string, ok bool) {
	if !strings.HasPrefix(path, trackingPrefix) {
		return "", "", false
	}
	s := path[len(trackingPrefix):]
	strategy, rest = s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		strategy, rest = s[:i], s[i:]
	}
	return strategy, rest, strategy != ""
}

// parseRoute matches u against the strategies (strategy -> service name). It
// returns ok=false with the strategy for an unknown one.
func parseRoute(method string, u *url.URL, services map[string]string) (r route, ok bool) {
	strategy, rest, matched := splitStrategy(u.Path)
	if !matched {
		return route{}, false
	}
	svc, known := services[strategy]
	if !known {
		return route{Strategy: strategy}, false
	}
	// /tracking/{strategy}{rest} becomes /tracking{rest}, keeping a trailing
	// slash: /tracking/redis -> /tracking, /tracking/redis/ -> /tracking/;
	// the root routes become {rest}: /tracking/redis/osmand -> /osmand.
	prefix := "/tracking"
	first, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	root, isRoot := rootRoutes[first]
	if isRoot {
		prefix = ""
	}
	r = route{Strategy: strategy, Service: svc, Path: prefix + rest}
	if u.RawPath != "" {
		if _, rawRest, ok := splitStrategy(u.RawPath); ok {
			r.RawPath = prefix + rawRest
		}
	}
	if isRoot {
		r.Kind = root
		return r, true
	}
	r.Kind, r.Team = classify(method, rest)
	return r, true
}

// classify tells the kind of an upstream path /tracking{rest}.
func classify(method, rest string) (Kind, string) {
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		if method == http.MethodPost {
			return KindPublish, ""
		}
		return KindOther, ""
	}
	if rest == "ws" {
		return KindWorkerWS, ""
	}
	team, sub, _ := strings.Cut(rest, "/")
	switch sub {
	case "":
		return KindTeamSSE, team
	case "ws":
		return KindTeamWS, team
	case "positions":
		return KindPositions, team
	}
	return KindOther, ""
}

// canonicalPath reports whether p has no empty, "." or ".." segment (a
// trailing slash aside). p is the decoded path, so %2e%2e counts as "..".
// Such a path is refused rather than proxied: the upstream's router would
// clean it into another route, or redirect the client out of /tracking.
// p starts with "/" (it is under /tracking/).
func canonicalPath(p string) bool {
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")[1:]
	return !slices.ContainsFunc(segs, func(s string) bool { return s == "" || s == "." || s == ".." })
}
