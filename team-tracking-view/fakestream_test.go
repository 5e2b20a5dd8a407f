package view_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeTracking stands in for the gateway's /tracking/{strategy}/{team} SSE
// endpoint (docs/API.md): `retry:`, then the snapshot (one data event per
// worker), then every interval a new position of every worker. Workers
// circle around their team's centre, so markers visibly move.
//
// It also serves the gateway's GET /auth/config (mode none unless auth is
// set), and with auth set the dev login and token checks of the stream and
// of GET /tracking/{strategy}/{team}/positions.
type fakeTracking struct {
	teams    map[string]fakeTeam
	interval time.Duration
	// reconnectFirst makes the first connection of each team end right after
	// the snapshot with `event: reconnect`, as a replica does at the end of
	// a connection's lifetime: the view must reconnect and get the snapshot
	// again before any live position.
	reconnectFirst bool
	// failFirst answers the first failFirst connections of each team with
	// 503, as a gateway does while no replica is healthy.
	failFirst int
	// auth, when set, makes the fake require tokens (mode dev or jwt).
	auth *fakeAuth

	start time.Time
	done  chan struct{} // closed by stop: streams end

	mu    sync.Mutex
	conns map[string]int
}

type fakeTeam struct {
	prefix   string // worker ids are prefix-01, prefix-02, ...
	workers  int
	lat, lng float64 // centre
}

func newFakeTracking(interval time.Duration, teams map[string]fakeTeam) *fakeTracking {
	return &fakeTracking{
		teams:    teams,
		interval: interval,
		start:    time.Now(),
		done:     make(chan struct{}),
		conns:    map[string]int{},
	}
}

// register adds the stream route, the positions route and the gateway's
// auth routes to mux.
func (f *fakeTracking) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /tracking/{strategy}/{team}", f.serveStream)
	mux.HandleFunc("GET /tracking/{strategy}/{team}/positions", f.servePositions)
	mux.HandleFunc("GET /auth/config", func(w http.ResponseWriter, r *http.Request) {
		mode := "none"
		if f.auth != nil {
			mode = f.auth.mode
		}
		writeJSON(w, http.StatusOK, map[string]string{"mode": mode})
	})
	if f.auth != nil && f.auth.mode == "dev" {
		mux.HandleFunc("POST /auth/dev-login", f.auth.serveDevLogin)
	}
}

// stop ends every stream (before the test server closes).
func (f *fakeTracking) stop() { close(f.done) }

func (f *fakeTracking) connections(team string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[team]
}

func (f *fakeTracking) serveStream(w http.ResponseWriter, r *http.Request) {
	strategy, name := r.PathValue("strategy"), r.PathValue("team")
	team, ok := f.teams[name]
	if !ok || (strategy != "redis" && strategy != "kafka") {
		http.NotFound(w, r)
		return
	}
	if f.auth != nil {
		// EventSource cannot set headers: the token is a query parameter.
		tok := r.URL.Query().Get("access_token")
		f.auth.sawStream(name, tok)
		if status, err := f.auth.check(tok, name); err != nil {
			writeAuthError(w, status, err)
			return
		}
	}
	f.mu.Lock()
	f.conns[name]++
	conn := f.conns[name]
	f.mu.Unlock()
	if conn <= f.failFirst {
		http.Error(w, "no healthy tracking replica", http.StatusServiceUnavailable)
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, "retry: 2000\n\n")
	f.writePositions(w, name, team)
	if rc.Flush() != nil {
		return
	}
	if f.reconnectFirst && conn == 1 {
		fmt.Fprint(w, "event: reconnect\ndata: {\"reason\":\"lifetime\"}\n\n")
		_ = rc.Flush()
		if f.auth != nil && f.auth.revokeFirst {
			// As if the token had been revoked meanwhile: the view's
			// reconnect with it is refused, and it must sign in again.
			f.auth.revoke(r.URL.Query().Get("access_token"))
		}
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
			f.writePositions(w, name, team)
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
	name := r.PathValue("team")
	if _, ok := f.teams[name]; !ok {
		http.NotFound(w, r)
		return
	}
	if f.auth != nil {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.auth.sawProbe(tok)
		if status, err := f.auth.check(tok, name); err != nil {
			writeAuthError(w, status, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, []any{})
}

// writeAuthError answers as the tracking services do (docs/API.md error codes).
func writeAuthError(w http.ResponseWriter, status int, err error) {
	code := "unauthorized"
	if status == http.StatusForbidden {
		code = "forbidden"
	} else {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, status, map[string]string{"code": code, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeAuth is the gateway's authentication, as the view sees it: in mode dev
// POST /auth/dev-login hands out opaque tokens, each for the teams asked for
// and valid for ttl; in mode jwt the tokens are given (jwtTokens). The
// stream and positions routes accept only such a token, for their team.
type fakeAuth struct {
	mode string        // "dev" or "jwt"
	ttl  time.Duration // of dev tokens; default 1 h
	// revokeFirst revokes the token of a team's first stream connection
	// when it ends (with reconnectFirst).
	revokeFirst bool

	mu       sync.Mutex
	tokens   map[string]*fakeToken
	logins   []devLogin
	streams  []streamRequest // every stream request: team and token presented
	probes   []string        // the Bearer tokens of the positions probes
	loginErr string          // why the last login was refused, if one was
}

type fakeToken struct {
	teams   []string
	expires time.Time
	revoked bool
}

// devLogin is the body of POST /auth/dev-login.
type devLogin struct {
	Subject string   `json:"subject"`
	Role    string   `json:"role"`
	Teams   []string `json:"teams"`
}

type streamRequest struct{ team, token string }

func newFakeAuth(mode string) *fakeAuth {
	return &fakeAuth{mode: mode, ttl: time.Hour, tokens: map[string]*fakeToken{}}
}

// addToken makes tok valid for teams (mode jwt: a token a link carries).
func (a *fakeAuth) addToken(tok string, teams ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[tok] = &fakeToken{teams: teams, expires: time.Now().Add(time.Hour)}
}

func (a *fakeAuth) serveDevLogin(w http.ResponseWriter, r *http.Request) {
	var req devLogin
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_json", "message": err.Error()})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logins = append(a.logins, req)
	if req.Subject == "" || len(req.Teams) == 0 || (req.Role != "worker" && req.Role != "manager" && req.Role != "admin") {
		a.loginErr = fmt.Sprintf("bad login %+v", req)
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "bad_request", "message": a.loginErr})
		return
	}
	tok := "dev-" + rand.Text()
	expires := time.Now().Add(a.ttl)
	a.tokens[tok] = &fakeToken{teams: req.Teams, expires: expires}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expiresAt": expires.UTC().Format(time.RFC3339Nano)})
}

// check says why tok does not let its holder watch team, with the status
// of the answer (401: no valid token; 403: a valid token for other teams),
// or nil.
func (a *fakeAuth) check(tok, team string) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tokens[tok]
	switch {
	case tok == "":
		return http.StatusUnauthorized, fmt.Errorf("missing token")
	case t == nil:
		return http.StatusUnauthorized, fmt.Errorf("unknown token")
	case t.revoked:
		return http.StatusUnauthorized, fmt.Errorf("token revoked")
	case time.Now().After(t.expires):
		return http.StatusUnauthorized, fmt.Errorf("token expired")
	case !slices.Contains(t.teams, team):
		return http.StatusForbidden, fmt.Errorf("the token does not cover team %s", team)
	}
	return 0, nil
}

func (a *fakeAuth) revoke(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tokens[tok]; t != nil {
		t.revoked = true
	}
}

func (a *fakeAuth) sawStream(team, tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.streams = append(a.streams, streamRequest{team, tok})
}

func (a *fakeAuth) sawProbe(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.probes = append(a.probes, tok)
}

// snapshot returns copies of what the fake saw.
func (a *fakeAuth) snapshot() (logins []devLogin, streams []streamRequest, probes []string, loginErr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logins), slices.Clone(a.streams), slices.Clone(a.probes), a.loginErr
}

// record is the canonical position record of docs/API.md, fields in order.
type record struct {
	ID        string   `json:"id"`
	WorkerID  string   `json:"workerId"`
	Team      string   `json:"team"`
	Location  location `json:"location"`
	TimeStamp string   `json:"timeStamp"`
	Speed     float64  `json:"speed"`
	Heading   float64  `json:"heading"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// writePositions writes the current position of every worker of the team,
// one unnamed data event each.
func (f *fakeTracking) writePositions(w http.ResponseWriter, name string, team fakeTeam) {
	now := time.Now()
	elapsed := now.Sub(f.start).Seconds()
	for i := range team.workers {
		id := team.prefix + "-" + fmt.Sprintf("%02d", i+1)
		// Worker i circles at its own radius (about 200-650 m) and phase,
		// at 4-15 m/s (a runner to a cyclist).
		radius := 0.002 + 0.0015*float64(i%4)
		const omega = 0.02 // rad/s
		theta := float64(i)*2.399963 + omega*elapsed
		lat := team.lat + radius*math.Cos(theta)
		lng := team.lng + radius*math.Sin(theta)/math.Cos(team.lat*math.Pi/180)
		heading := math.Mod(math.Atan2(math.Cos(theta), -math.Sin(theta))*180/math.Pi+360, 360)
		rec := record{
			ID:        id + "-" + strconv.FormatInt(now.UnixMilli(), 10),
			WorkerID:  id,
			Team:      name,
			Location:  location{Latitude: lat, Longitude: lng},
			TimeStamp: now.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			Speed:     radius * 111_000 * omega,
			Heading:   heading,
		}
		data, _ := json.Marshal(rec) // plain struct: cannot fail
		fmt.Fprintf(w, "data: %s\n\n", data)
	}
}
