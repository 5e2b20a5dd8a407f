package view_test

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
)

// fakeTracking stands in for the gateway's /tracking/{strategy}/{team} SSE
// endpoint (docs/API.md): `retry:`, then the snapshot (one data event per
// worker), then every interval a new position of every worker. Workers
// circle around a centre, so markers visibly move.
//
// It also serves the gateway's GET /auth/config (mode none unless authMode
// is set), and in modes dev and jwt the dev login and the token checks of
// the stream and of GET /tracking/{strategy}/{team}/positions. The team's
// geofences, which the view reads at load, are none; its alert events are
// alerts.
type fakeTracking struct {
	teams    map[string]int // workers per team, with ids TEAM-w01, TEAM-w02, ...
	interval time.Duration  // default 200 ms
	// reconnectFirst makes the first connection of each team end right after
	// the snapshot with `event: reconnect`, as a replica does at the end of
	// a connection's lifetime: the view must reconnect and get the snapshot
	// again before any live position. In modes dev and jwt, the token of
	// that connection is revoked meanwhile: the reconnect is refused.
	reconnectFirst bool
	// failFirst answers the first failFirst connections of each team with
	// 503, as a gateway does while no replica is healthy.
	failFirst int
	// noAuthConfig leaves GET /auth/config out, as a gateway that predates
	// authentication does (the view's handler answers it with 404).
	noAuthConfig bool
	// alerts are alert records (JSON): GET .../events answers them, and
	// every connection sends each twice as `event: alert` after the
	// snapshot (a receiver de-duplicates on the id).
	alerts []string
	// statuses are status records (JSON) every connection sends as `event:
	// status` after the snapshot.
	statuses []string

	// authMode "dev" or "jwt" makes the fake require a token for the team:
	// in mode dev POST /auth/dev-login hands out opaque tokens, each for the
	// teams asked for and valid for devTTL (default 1 h); in mode jwt the
	// tokens are jwtTokens (token -> teams), as links carry them.
	authMode  string
	devTTL    time.Duration
	jwtTokens map[string][]string

	done chan struct{} // closed: streams end

	// burst is how many positions of each worker every interval writes
	// (default 1): its last burst positions, spread over the interval.
	burst int

	sent atomic.Int64 // position records written, all teams

	mu      sync.Mutex
	conns   map[string]int
	tokens  map[string]*fakeToken
	logins  []devLogin
	streams []request // every stream request: team and token presented
	probes  []request // every positions probe: team and Bearer token
}

type fakeToken struct {
	teams   []string
	expires time.Time // revoked: the zero time
}

// devLogin is the body of POST /auth/dev-login.
type devLogin struct {
	Subject string   `json:"subject"`
	Role    string   `json:"role"`
	Teams   []string `json:"teams"`
}

type request struct{ team, token string }

// serve fills the zero fields and serves the embedded view at /, the fake's
// routes, and map tiles that load (/tiles/ok/{z}/{x}/{y}) and that fail
// (/tiles/broken/...). It skips the test when the view is not built or
// Chromium is missing, or fails it when CI is set (CI runs build.sh first).
func (f *fakeTracking) serve(t *testing.T) *httptest.Server {
	t.Helper()
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	f.interval = cmp.Or(f.interval, 200*time.Millisecond)
	f.devTTL = cmp.Or(f.devTTL, time.Hour)
	f.done = make(chan struct{})
	f.conns, f.tokens = map[string]int{}, map[string]*fakeToken{}
	for tok, teams := range f.jwtTokens {
		f.tokens[tok] = &fakeToken{teams: teams, expires: time.Now().Add(time.Hour)}
	}
	var tile bytes.Buffer // a plain 256x256 tile
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{R: 0xe8, G: 0xef, B: 0xe4, A: 0xff}), image.Point{}, draw.Src)
	if err := png.Encode(&tile, img); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", view.Handler())
	mux.HandleFunc("GET /tiles/ok/{z}/{x}/{y}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tile.Bytes())
	})
	mux.HandleFunc("GET /tiles/broken/{z}/{x}/{y}", http.NotFound)
	mux.HandleFunc("GET /tracking/{strategy}/{team}", f.serveStream)
	mux.HandleFunc("GET /tracking/{strategy}/{team}/positions", f.servePositions)
	mux.HandleFunc("GET /tracking/{strategy}/{team}/geofences", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"geofences": []any{}})
	})
	mux.HandleFunc("GET /tracking/{strategy}/{team}/events", func(w http.ResponseWriter, r *http.Request) {
		events := []json.RawMessage{}
		for _, a := range f.alerts {
			events = append(events, json.RawMessage(a))
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": ""})
	})
	if !f.noAuthConfig {
		mux.HandleFunc("GET /auth/config", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"mode": cmp.Or(f.authMode, "none")})
		})
	}
	if f.authMode == "dev" {
		mux.HandleFunc("POST /auth/dev-login", f.serveDevLogin)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.done) }) // runs first: the streams end, then the server closes
	return srv
}

func (f *fakeTracking) connections(team string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[team]
}

func (f *fakeTracking) serveStream(w http.ResponseWriter, r *http.Request) {
	// The view's stream (@teamtrack/client, fetch) sends the token as
	// Authorization: Bearer; a client that cannot set headers puts it in
	// the access_token parameter.
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = r.URL.Query().Get("access_token")
	}
	team, admitted := f.admit(w, r, &f.streams, tok)
	if !admitted {
		return
	}
	f.mu.Lock()
	f.conns[team]++
	conn := f.conns[team]
	f.mu.Unlock()
	if conn <= f.failFirst {
		http.Error(w, "no healthy tracking replica", http.StatusServiceUnavailable)
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, "retry: 2000\n\n")
	f.writePositions(w, team)
	for i, s := range f.statuses {
		_, _ = fmt.Fprintf(w, "event: status\nid: s-%d\ndata: %s\n\n", i, s)
	}
	for i, a := range slices.Concat(f.alerts, f.alerts) {
		_, _ = fmt.Fprintf(w, "event: alert\nid: a-%d\ndata: %s\n\n", i, a)
	}
	if rc.Flush() != nil {
		return
	}
	if f.reconnectFirst && conn == 1 {
		_, _ = io.WriteString(w, "event: reconnect\ndata: {\"reason\":\"lifetime\"}\n\n")
		_ = rc.Flush()
		f.mu.Lock()
		if t := f.tokens[tok]; t != nil {
			t.expires = time.Time{} // revoked: the view must sign in again
		}
		f.mu.Unlock()
		return
	}

	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		case <-tick.C:
			f.writePositions(w, team)
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// servePositions answers GET /tracking/{strategy}/{team}/positions: what the
// view probes, with its token as Authorization: Bearer, after a stream error.
// The positions themselves are not needed: it answers an empty array.
func (f *fakeTracking) servePositions(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, ok := f.admit(w, r, &f.probes, tok); ok {
		writeJSON(w, http.StatusOK, []any{})
	}
}

// admit answers 404 for an unknown team or strategy; else it records the
// request in seen and reports whether tok lets its holder watch the team
// (always, in mode none). If not, it answers as the tracking services do
// (docs/API.md error codes): 401 without a valid token, 403 with a valid
// token for other teams.
func (f *fakeTracking) admit(w http.ResponseWriter, r *http.Request, seen *[]request, tok string) (team string, ok bool) {
	team, strategy := r.PathValue("team"), r.PathValue("strategy")
	if _, known := f.teams[team]; !known || (strategy != "redis" && strategy != "kafka") {
		http.NotFound(w, r)
		return "", false
	}
	if f.authMode == "" {
		return team, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	*seen = append(*seen, request{team, tok})
	t := f.tokens[tok]
	var why string
	switch {
	case tok == "":
		why = "missing token"
	case t == nil:
		why = "unknown token"
	case time.Now().After(t.expires):
		why = "token expired"
	case !slices.Contains(t.teams, team):
		writeJSON(w, http.StatusForbidden, map[string]string{"code": "forbidden", "message": "the token does not cover team " + team})
		return "", false
	default:
		return team, true
	}
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "unauthorized", "message": why})
	return "", false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeTracking) serveDevLogin(w http.ResponseWriter, r *http.Request) {
	var req devLogin
	_ = json.NewDecoder(r.Body).Decode(&req) // a bad body fails the test's checks of the logins
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, req)
	tok := "dev-" + rand.Text()
	expires := time.Now().Add(f.devTTL)
	f.tokens[tok] = &fakeToken{teams: req.Teams, expires: expires}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expiresAt": expires.UTC().Format(time.RFC3339Nano)})
}

// snapshot returns copies of what the fake saw.
func (f *fakeTracking) snapshot() (logins []devLogin, streams, probes []request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.logins), slices.Clone(f.streams), slices.Clone(f.probes)
}

// writePositions writes the current position of every worker of the team,
// one unnamed data event each: the canonical position record of
// docs/API.md, fields in order. With burst > 1, each worker's last burst
// positions (spread over the interval, oldest first, one worker's
// together), as a server writes a worker that reports faster than its
// flush interval.
func (f *fakeTracking) writePositions(w io.Writer, team string) {
	const lat0, lng0 = 52.52, 13.405 // Berlin
	now := time.Now()
	burst := max(f.burst, 1)
	for i := range f.teams[team] {
		id := fmt.Sprintf("%s-w%02d", team, i+1)
		for j := range burst {
			at := now.Add(-time.Duration(burst-1-j) * f.interval / time.Duration(burst))
			// Worker i circles at its own radius (about 200-650 m) and phase,
			// at 4-15 m/s (a runner to a cyclist).
			radius := 0.002 + 0.0015*float64(i%4)
			const omega = 0.02 // rad/s
			theta := float64(i)*2.399963 + omega*float64(at.UnixMilli())/1000
			lat := lat0 + radius*math.Cos(theta)
			lng := lng0 + radius*math.Sin(theta)/math.Cos(lat0*math.Pi/180)
			heading := math.Mod(math.Atan2(math.Cos(theta), -math.Sin(theta))*180/math.Pi+360, 360)
			_, _ = fmt.Fprintf(w, `data: {"id":"%s-%d","workerId":"%s","team":"%s","location":{"latitude":%g,"longitude":%g},`+
				`"timeStamp":"%s","accuracy":%d,"speed":%g,"heading":%g}`+"\n\n",
				id, at.UnixMilli(), id, team, lat, lng, at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), 5+i%20, radius*111_000*omega, heading)
		}
	}
	f.sent.Add(int64(f.teams[team] * burst))
}
