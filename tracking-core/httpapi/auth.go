package httpapi

import (
	"context"
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

// worker registers a connection of the claims' worker as kind until the
// returned func, which the handler defers. Meanwhile, from another
// goroutine, it calls end with the first reason the connection must end:
// its lifespan runs out (with tokenOnly, only its token's expiry), a newer
// connection of the worker replaces it, or the replica drains. The func
// cancels end's ctx and waits for end to return.
//
// An idle connection costs no goroutine for this: an entry on the API's
// timing wheel (its lifespan ends up to two wheel ticks late), one in the
// worker's session and one in the API's drain list; the goroutine that
// runs end starts when one of them fires.
func (a *API) worker(kind string, claims *auth.Claims, tokenOnly bool, end func(ctx context.Context, why string)) (done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ce := &connEnd{end: end, ctx: ctx}
	leave := a.workers.join(claims, func() { ce.fire(wire.ReasonReplaced) })
	closed := a.open(kind)
	undrain := a.onDrain(func() { ce.fire(wire.ReasonShutdown) })
	if life, why := a.lifespan(claims); !tokenOnly || why == wire.ReasonTokenExpired {
		ce.why, ce.entry.owner = why, ce
		a.wheel.after(&ce.entry, life)
	}
	return func() {
		ce.finish(cancel)
		a.wheel.remove(&ce.entry)
		undrain()
		closed()
		leave()
	}
}

// connEnd runs a connection's end once, from the first trigger that fires
// before the connection finished by itself.
type connEnd struct {
	end   func(ctx context.Context, why string)
	ctx   context.Context
	entry wheelEntry // its lifespan
	why   string     // why it ends when the lifespan is up

	mu       sync.Mutex
	finished bool
	running  chan struct{} // closed when end returned; nil until fired
}

func (c *connEnd) fire(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished || c.running != nil {
		return
	}
	running := make(chan struct{})
	c.running = running
	go func() {
		defer close(running)
		c.end(c.ctx, why)
	}()
}

// due is the wheel's call: the lifespan is up.
func (c *connEnd) due() { c.fire(c.why) }

// finish marks the connection ended: no end starts after it, and one that
// started is cancelled and waited for.
func (c *connEnd) finish(cancel context.CancelFunc) {
	c.mu.Lock()
	c.finished = true
	running := c.running
	c.mu.Unlock()
	cancel()
	if running != nil {
		<-running
	}
}

// onDrain calls f when the replica starts draining (at once if it has);
// the returned func unregisters it.
func (a *API) onDrain(f func()) (remove func()) {
	a.drainersMu.Lock()
	if a.Draining() {
		a.drainersMu.Unlock()
		f()
		return func() {}
	}
	if a.drainers == nil {
		a.drainers = make(map[*func()]struct{})
	}
	key := &f
	a.drainers[key] = struct{}{}
	a.drainersMu.Unlock()
	return func() {
		a.drainersMu.Lock()
		delete(a.drainers, key)
		a.drainersMu.Unlock()
	}
}

// startDrain closes the drain channel and calls the registered drainers.
func (a *API) startDrain() {
	a.drainOnce.Do(func() {
		a.drainersMu.Lock()
		close(a.drain)
		fs := make([]func(), 0, len(a.drainers))
		for f := range a.drainers {
			fs = append(fs, *f)
		}
		clear(a.drainers)
		a.drainersMu.Unlock()
		for _, f := range fs {
			f()
		}
	})
}

// workerSessions keeps one connection per authenticated worker id: when a
// worker connects again, the newest connection wins and the older is told
// to go ("replaced").
type workerSessions struct {
	mu    sync.Mutex
	kicks map[string]*session // made by New
}

type session struct {
	once   sync.Once
	kicked func() // called once, when a newer connection of the worker arrives
}

func (s *session) kick() { s.once.Do(s.kicked) }

// join registers a connection of the claims' worker; kicked is called if a
// newer one joins; leave unregisters it. Anonymous and non-worker callers
// get a session that is never kicked.
func (w *workerSessions) join(c *auth.Claims, kicked func()) (leave func()) {
	s := &session{kicked: kicked}
	if c == nil || c.Anonymous || c.Role != auth.RoleWorker || c.WorkerID == "" {
		return func() {}
	}
	w.mu.Lock()
	if old := w.kicks[c.WorkerID]; old != nil {
		old.kick()
	}
	w.kicks[c.WorkerID] = s
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		if w.kicks[c.WorkerID] == s {
			delete(w.kicks, c.WorkerID)
		}
		w.mu.Unlock()
	}
}
