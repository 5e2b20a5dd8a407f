package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/teamtrack/tracking-core/auth"
)

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
	life := a.lifetime()
	if c != nil && !c.Anonymous {
		if left := c.Remaining(time.Now()); left < life {
			return max(left, 0), "token_expired"
		}
	}
	return life, "lifetime"
}

// workerSessions keeps one connection per authenticated worker id: when a
// worker connects again, the newest connection wins and the older is told
// to go ("replaced").
type workerSessions struct {
	mu    sync.Mutex
	kicks map[string]*session
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
	if w.kicks == nil {
		w.kicks = make(map[string]*session)
	}
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
