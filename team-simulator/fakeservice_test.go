package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// fakeService speaks the wire formats of docs/API.md with an in-memory
// fan-out, and can misbehave on purpose: delay deliveries, reject records, and
// ask workers to reconnect. The end-to-end tests against the real handlers
// (e2e_test.go) cover the happy path; this one covers what a real replica only
// does under duress.
type fakeService struct {
	// Delay holds every delivery to managers back by this long.
	Delay time.Duration
	// RejectWorker: records of this worker are answered with an error.
	RejectWorker string
	// KickAfter: a worker WebSocket is told to reconnect after this many records.
	KickAfter int
	// KickManagersAfter: a manager stream is told to reconnect after this many
	// deliveries.
	KickManagersAfter int
	// Verifier, when set, makes every route require `Authorization: Bearer`
	// with a token it accepts (else 401), whose claims allow the route (else
	// 403: workers publish only as themselves into their teams, managers
	// watch only their teams), as the tracking services do.
	Verifier auth.Verifier

	srv    *httptest.Server
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	last map[string]map[string][]byte // team -> worker -> canonical JSON
	subs map[string]map[*fakeSub]bool

	Accepted  atomic.Int64
	Rejected  atomic.Int64
	WorkerWS  atomic.Int64 // worker WebSocket connections accepted
	WSClean   atomic.Int64 // worker WebSockets the client closed with 1000
	Posts     atomic.Int64 // streaming POSTs started
	PostsDone atomic.Int64 // streaming POSTs answered
	Refused   atomic.Int64 // requests answered 401 or 403

	authMu sync.Mutex
	seen   []authSeen // the tokens of the requests let in
}

// authSeen is a request that a Verifier let in.
type authSeen struct {
	route  string // "worker" or "manager"
	token  string
	claims *auth.Claims
}

// authorize checks r's token when the fake has a Verifier: worker routes
// (team "") need a worker's (or admin's) token, manager routes one that may
// watch team. It answers 401 or 403 itself and returns false when r may not
// go on; the claims are nil without a Verifier.
func (f *fakeService) authorize(w http.ResponseWriter, r *http.Request, team string) (*auth.Claims, bool) {
	if f.Verifier == nil {
		return nil, true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = ""
	}
	c, err := f.Verifier.Verify(r.Context(), token)
	route := "manager"
	if err == nil {
		if team == "" {
			route = "worker"
			if c.Role != auth.RoleWorker && c.Role != auth.RoleAdmin {
				err = tracking.Errorf(tracking.CodeForbidden, "role %s does not publish", c.Role)
			}
		} else {
			err = c.CanWatch(team)
		}
	}
	if err != nil {
		f.Refused.Add(1)
		status := http.StatusForbidden
		if tracking.ErrorCode(err) == tracking.CodeUnauthorized {
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": string(tracking.ErrorCode(err)), "message": tracking.ErrorMessage(err)})
		return nil, false
	}
	f.authMu.Lock()
	f.seen = append(f.seen, authSeen{route: route, token: token, claims: c})
	f.authMu.Unlock()
	return c, true
}

// authSeen returns the requests let in so far.
func (f *fakeService) authSeen() []authSeen {
	f.authMu.Lock()
	defer f.authMu.Unlock()
	return append([]authSeen(nil), f.seen...)
}

type fakeDelivery struct {
	at   time.Time
	json []byte
}

type fakeSub struct{ ch chan fakeDelivery }

func startFake(t *testing.T, configure func(*fakeService)) *fakeService {
	t.Helper()
	f := &fakeService{last: map[string]map[string][]byte{}, subs: map[string]map[*fakeSub]bool{}}
	if configure != nil {
		configure(f)
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tracking/{$}", f.ingest)
	mux.HandleFunc("GET /tracking/ws", f.workerWS)
	mux.HandleFunc("GET /tracking/{team}", f.sse)
	mux.HandleFunc("GET /tracking/{team}/ws", f.managerWS)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.cancel()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// URL is the base URL of the API.
func (f *fakeService) URL() string { return f.srv.URL + "/tracking/" }

func (f *fakeService) accept(rec []byte, claims *auth.Claims) (string, error) {
	p, err := wire.DecodePosition(rec, time.Now())
	if err == nil && p.WorkerID == f.RejectWorker {
		err = tracking.Errorf(tracking.CodeRateLimited, "worker %s is rate limited", p.WorkerID)
	}
	if err == nil && claims != nil {
		err = claims.CanPublish(p.Team, p.WorkerID)
	}
	if err != nil {
		f.Rejected.Add(1)
		return p.ID, err
	}
	f.Accepted.Add(1)
	js := wire.AppendPosition(nil, &p)
	d := fakeDelivery{at: time.Now().Add(f.Delay), json: js}
	f.mu.Lock()
	if f.last[p.Team] == nil {
		f.last[p.Team] = map[string][]byte{}
	}
	f.last[p.Team][p.WorkerID] = js
	for s := range f.subs[p.Team] {
		select {
		case s.ch <- d:
		default: // a fake may drop; the tests size the buffers generously
		}
	}
	f.mu.Unlock()
	return p.ID, nil
}

func (f *fakeService) ingest(w http.ResponseWriter, r *http.Request) {
	claims, ok := f.authorize(w, r, "")
	if !ok {
		return
	}
	f.Posts.Add(1)
	defer f.PostsDone.Add(1)
	sc := wire.NewRecordScanner(r.Body, 0)
	sum := wire.IngestAnswer{Errors: []wire.ErrorBody{}}
	for {
		rec, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var te *tracking.Error
		if err != nil && !errors.As(err, &te) {
			return // the client went away
		}
		id := ""
		if err == nil {
			id, err = f.accept(rec, claims)
		}
		if err != nil {
			sum.Rejected++
			e := wire.NewErrorBody(err)
			e.Record, e.ID = sc.Record(), id
			sum.Errors = append(sum.Errors, e)
			continue
		}
		sum.Accepted++
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

func (f *fakeService) workerWS(w http.ResponseWriter, r *http.Request) {
	claims, ok := f.authorize(w, r, "")
	if !ok {
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	f.WorkerWS.Add(1)
	ctx := f.ctx
	n := 0
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				f.WSClean.Add(1)
			}
			return
		}
		recs := [][]byte{msg}
		if bytes.HasPrefix(bytes.TrimSpace(msg), []byte("[")) {
			recs = recs[:0]
			recs, _ = wire.AppendArrayElements(recs, msg)
		}
		for _, rec := range recs {
			id, err := f.accept(rec, claims)
			if err != nil {
				e := wire.NewErrorBody(err)
				e.ID = id
				b := wire.AppendError(nil, e)
				if c.Write(ctx, websocket.MessageText, b) != nil {
					return
				}
			}
			n++
		}
		if f.KickAfter > 0 && n >= f.KickAfter {
			_ = c.Write(ctx, websocket.MessageText, wire.AppendReconnect(nil, wire.ReasonLifetime))
			c.Close(websocket.StatusServiceRestart, "lifetime")
			return
		}
	}
}

// watch subscribes to team and returns the snapshot.
func (f *fakeService) watch(team string) (*fakeSub, [][]byte, func()) {
	s := &fakeSub{ch: make(chan fakeDelivery, 1<<14)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[team] == nil {
		f.subs[team] = map[*fakeSub]bool{}
	}
	f.subs[team][s] = true
	var snap [][]byte
	for _, js := range f.last[team] {
		snap = append(snap, js)
	}
	return s, snap, func() {
		f.mu.Lock()
		delete(f.subs[team], s)
		f.mu.Unlock()
	}
}

// next waits for the next delivery and holds it until it is due.
func (f *fakeService) next(ctx context.Context, s *fakeSub) ([]byte, bool) {
	select {
	case <-ctx.Done():
		return nil, false
	case d := <-s.ch:
		if wait := time.Until(d.at); wait > 0 && !sleep(ctx.Done(), wait) {
			return nil, false
		}
		return d.json, true
	}
}

func (f *fakeService) sse(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.authorize(w, r, r.PathValue("team")); !ok {
		return
	}
	s, snap, leave := f.watch(r.PathValue("team"))
	defer leave()
	ctx, cancel := mergeDone(r.Context(), f.ctx)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	_, _ = w.Write(wire.AppendSSEHeartbeat(wire.AppendSSERetry(nil, 2*time.Second)))
	_, _ = w.Write(wire.AppendSSEPositions(nil, messages(snap)))
	fl.Flush()
	for n := 0; ; n++ {
		if f.KickManagersAfter > 0 && n >= f.KickManagersAfter {
			_, _ = w.Write(wire.AppendSSEReconnect(nil, wire.ReasonLifetime))
			return
		}
		js, ok := f.next(ctx, s)
		if !ok {
			return
		}
		if _, err := w.Write(wire.AppendSSEPositions(nil, messages([][]byte{js}))); err != nil {
			return
		}
		fl.Flush()
	}
}

func (f *fakeService) managerWS(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.authorize(w, r, r.PathValue("team")); !ok {
		return
	}
	s, snap, leave := f.watch(r.PathValue("team"))
	defer leave()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := mergeDone(c.CloseRead(r.Context()), f.ctx)
	defer cancel()
	write := func(recs [][]byte) bool {
		return c.Write(ctx, websocket.MessageText, wire.AppendPositions(nil, messages(recs))) == nil
	}
	if len(snap) > 0 && !write(snap) {
		return
	}
	for n := 0; ; n++ {
		if f.KickManagersAfter > 0 && n >= f.KickManagersAfter {
			_ = c.Write(ctx, websocket.MessageText, wire.AppendReconnect(nil, wire.ReasonLifetime))
			c.Close(websocket.StatusServiceRestart, "lifetime")
			return
		}
		js, ok := f.next(ctx, s)
		if !ok {
			return
		}
		batch := [][]byte{js}
		for len(s.ch) > 0 && len(batch) < 64 {
			if js, ok = f.next(ctx, s); !ok {
				return
			}
			batch = append(batch, js)
		}
		if !write(batch) {
			return
		}
	}
}

// mergeDone returns a context done when either a or b is.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// lastOf returns the last known record of each worker of team.
func (f *fakeService) lastOf(team string) map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for w, js := range f.last[team] {
		out[w] = js
	}
	return out
}

// messages wraps records as the server's wire encoders take them.
func messages(recs [][]byte) []tracking.Message {
	out := make([]tracking.Message, len(recs))
	for i, r := range recs {
		out[i] = tracking.Message{JSON: r}
	}
	return out
}
