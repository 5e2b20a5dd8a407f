package httpapi

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// claimsHandler serves a request whose caller authenticate has vouched for.
type claimsHandler func(w http.ResponseWriter, r *http.Request, c *auth.Claims)

// stream wraps the handler of a long-lived connection: refused while the
// replica drains, else waited for by Shutdown.
func (a *API) stream(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Draining() {
			refuse(w, r, tracking.Errorf(tracking.CodeShuttingDown, "replica is draining, reconnect"))
			return
		}
		a.streams.Add(1)
		defer a.streams.Done()
		h(w, r)
	}
}

// authed wraps h: a caller without valid credentials or, on a route of a
// {team} (watch), one who may not watch that well-formed team is refused
// with a plain 400, 401 or 403 (before any upgrade).
func (a *API) authed(watch bool, h claimsHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var claims *auth.Claims
		var err error
		team := r.PathValue("team")
		if watch {
			err = tracking.ValidTeam(team)
		}
		if err == nil {
			claims, err = a.authenticate(r)
		}
		if err == nil && watch {
			err = claims.CanWatch(team)
		}
		if err != nil {
			refuse(w, r, err)
			return
		}
		h(w, r, claims)
	}
}

// refuse answers err. A POST body may never end: its connection is closed
// instead of read to the end.
func refuse(w http.ResponseWriter, r *http.Request, err error) {
	if r.Method == http.MethodPost {
		w.Header().Set("Connection", "close")
	}
	writeError(w, err)
}

// open counts a connection of kind (manager_sse, worker_ws...) until the
// returned func is called.
func (a *API) open(kind string) (closed func()) {
	g := a.m.connections.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// authenticate returns the caller's claims: anonymous ones when the API has
// no Verifier (AUTH_MODE=none), else those of a valid token.
func (a *API) authenticate(r *http.Request) (*auth.Claims, error) {
	if a.cfg.Verifier == nil {
		return auth.AnonymousClaims(), nil
	}
	token, err := auth.TokenFromRequest(r)
	if err != nil {
		return nil, err
	}
	return a.cfg.Verifier.Verify(r.Context(), token)
}

// lifespan is how long a connection may live and why it would end: its
// lifetime with dither, or sooner the expiry of its token.
func (a *API) lifespan(c *auth.Claims) (time.Duration, string) {
	life := time.Duration(float64(a.cfg.MaxLifetime) * (1 - a.cfg.LifetimeDither*rand.Float64()))
	if c != nil && !c.Anonymous {
		if left := c.Remaining(time.Now()); left < life {
			return max(left, 0), wire.ReasonTokenExpired
		}
	}
	return life, wire.ReasonLifetime
}

// workerEnd waits for the first reason a worker connection must end: life
// runs out (why; never when why is ""), a newer connection of the worker
// (s), or the drain. It returns "" if stop is closed first.
func (a *API) workerEnd(stop <-chan struct{}, s *session, life time.Duration, why string) string {
	var expiry <-chan time.Time
	if why != "" {
		t := time.NewTimer(life)
		defer t.Stop()
		expiry = t.C
	}
	select {
	case <-expiry:
		return why
	case <-s.gone:
		return wire.ReasonReplaced
	case <-a.drain:
		return wire.ReasonShutdown
	case <-stop:
		return ""
	}
}

// workerSessions keeps one connection per authenticated worker id: when a
// worker connects again, the newest connection wins and the older is told
// to go ("replaced").
type workerSessions struct {
	mu    sync.Mutex
	kicks map[string]*session // made by New
}

type session struct {
	once sync.Once
	gone chan struct{} // closed when a newer connection of the worker arrives
}

func (s *session) kick() { s.once.Do(func() { close(s.gone) }) }

// join registers a connection of the claims' worker; the returned session's
// gone channel closes if a newer one joins; leave unregisters it. Anonymous
// and non-worker callers get a session that is never kicked.
func (w *workerSessions) join(c *auth.Claims) (s *session, leave func()) {
	s = &session{gone: make(chan struct{})}
	if c == nil || c.Anonymous || c.Role != auth.RoleWorker || c.WorkerID == "" {
		return s, func() {}
	}
	w.mu.Lock()
	if old := w.kicks[c.WorkerID]; old != nil {
		old.kick()
	}
	w.kicks[c.WorkerID] = s
	w.mu.Unlock()
	return s, func() {
		w.mu.Lock()
		if w.kicks[c.WorkerID] == s {
			delete(w.kicks, c.WorkerID)
		}
		w.mu.Unlock()
	}
}
