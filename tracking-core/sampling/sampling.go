package sampling

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
)

// Config tunes an Advisor. Durations left zero take their default; a
// negative one is an error.
type Config struct {
	// Mailbox carries the protocol's mail between replicas (the
	// Broadcaster). Required.
	Mailbox tracking.Mailbox
	// Watched is the interval advised while any manager, on any replica,
	// watches the team. Default 1s.
	Watched time.Duration
	// Unwatched is the interval advised otherwise. Default 30s.
	Unwatched time.Duration
	// Grace is how long after the last watcher leaves Unwatched is
	// advised: a manager who comes back within it changes nothing.
	// Default 30s.
	Grace time.Duration
	// Heartbeat is how often a watching replica renews its watch; a watch
	// not renewed for 3 heartbeats lapses (a crashed replica). Default 5s.
	Heartbeat time.Duration
	// Discover is how long a replica that has just started listening for a
	// team waits for watchers to answer before advising Unwatched.
	// Default 300ms.
	Discover time.Duration
	// Replica is this replica's name, unique among the replicas sharing
	// the broker (mail from its own name is ignored). Required.
	Replica string
	// Logger receives the advisor's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives its metrics. Default: none.
	Registerer prometheus.Registerer
}

// WithDefaults returns c with the default durations filled in, so that a
// reader of settings offers them without writing them again.
func (c Config) WithDefaults() Config {
	c.Watched = cmp.Or(c.Watched, time.Second)
	c.Unwatched = cmp.Or(c.Unwatched, 30*time.Second)
	c.Grace = cmp.Or(c.Grace, 30*time.Second)
	c.Heartbeat = cmp.Or(c.Heartbeat, 5*time.Second)
	c.Discover = cmp.Or(c.Discover, 300*time.Millisecond)
	return c
}

// withDefaults fills in the defaults and checks the result.
func (c Config) withDefaults() (Config, error) {
	c = c.WithDefaults()
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Mailbox == nil {
		return c, errors.New("sampling: no Mailbox")
	}
	if c.Replica == "" {
		return c, errors.New("sampling: no Replica name")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Watched", c.Watched}, {"Unwatched", c.Unwatched}, {"Grace", c.Grace},
		{"Heartbeat", c.Heartbeat}, {"Discover", c.Discover}} {
		if d.v <= 0 {
			return c, fmt.Errorf("sampling: %s is %s, want a positive duration (or zero for the default)", d.name, d.v)
		}
	}
	return c, nil
}

// Advisor is one replica's part of the sampling advice: it announces the
// manager streams of the replica and advises the worker connections of the
// replica (see the package doc).
type Advisor struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	lease time.Duration // 3 heartbeats: how long this replica's watch holds unrenewed

	// The mail this replica posts: always the same bytes.
	watchMail, unwatchMail, whoMail []byte

	ctx    context.Context // ends every listen and team goroutine (Close)
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per team goroutine

	mu     sync.Mutex
	teams  map[string]*team // teams watched or followed here, while their goroutine runs
	closed bool
}

// New returns an Advisor. It starts nothing until the first Watch or Follow.
func New(cfg Config) (*Advisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Advisor{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer), lease: 3 * cfg.Heartbeat,
		teams: make(map[string]*team)}
	a.watchMail = mail{Sampling: kindWatch, Replica: cfg.Replica, LeaseMS: a.lease.Milliseconds()}.encode()
	a.unwatchMail = mail{Sampling: kindUnwatch, Replica: cfg.Replica}.encode()
	a.whoMail = mail{Sampling: kindWho, Replica: cfg.Replica}.encode()
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// team is the standing of one team watched or followed on this replica.
// Its goroutine (run) owns the rest: the listen, the leases, the advice.
type team struct {
	name string
	kick chan struct{} // 1-buffered: something changed, look again

	// Guarded by Advisor.mu.
	watches int                    // live manager streams here
	follows map[*follower]struct{} // worker connections here
	joined  bool                   // a follower joined since the goroutine last looked

	inMu  sync.Mutex
	inbox [][]byte // mail from the listen, for the goroutine

	watched atomic.Bool // advised Watched (Advisor.Watched)
}

// maxInbox bounds the mail waiting for one team's goroutine. Mail is tiny
// and the goroutine drains it at once; the bound is against a flood on the
// team's address. Dropped mail is made good by the heartbeats.
const maxInbox = 256

func (t *team) poke() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// deliver is the Listen handler: it must not block nor call back into the
// Mailbox, so it only queues the payload for the team's goroutine.
func (t *team) deliver(payload []byte) {
	t.inMu.Lock()
	ok := len(t.inbox) < maxInbox
	if ok {
		t.inbox = append(t.inbox, payload)
	}
	t.inMu.Unlock()
	if ok {
		t.poke()
	}
}

// takeInbox returns the mail waiting and empties the inbox.
func (t *team) takeInbox() [][]byte {
	t.inMu.Lock()
	defer t.inMu.Unlock()
	in := t.inbox
	t.inbox = nil
	return in
}

// follower is one Follow.
type follower struct {
	// mu is held while advising, so that a follower is advised by one
	// goroutine at a time, and so that leave, which takes it to set ended,
	// returns only once no advise call is in progress.
	mu     sync.Mutex
	advise func(time.Duration)
	last   time.Duration // guarded by mu: the interval advised last, 0 before any
	ended  bool          // guarded by mu
}

// teamLocked returns team's standing, starting its goroutine if need be;
// nil after Close. a.mu is held.
func (a *Advisor) teamLocked(name string) *team {
	if a.closed {
		return nil
	}
	t := a.teams[name]
	if t == nil {
		t = &team{name: name, kick: make(chan struct{}, 1), follows: make(map[*follower]struct{})}
		a.teams[name] = t
		a.wg.Add(1)
		go a.run(t)
	}
	return t
}

// Watch records that a live manager stream of team began on this replica:
// the team's workers, on every replica, are advised Watched. It returns
// leave, to call once when the stream ends (further calls do nothing).
// Watch never blocks on the broker; broker errors are logged and retried.
// After Close, or for an invalid team name, it does nothing.
func (a *Advisor) Watch(team string) (leave func()) {
	if err := tracking.ValidTeam(team); err != nil {
		a.log.Warn("sampling: watch of an invalid team ignored", "team", team, "err", err)
		return func() {}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.teamLocked(team)
	if t == nil {
		return func() {}
	}
	t.watches++
	if t.watches == 1 {
		a.m.teamsWatched.Inc()
		t.poke()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			t.watches--
			if t.watches == 0 {
				a.m.teamsWatched.Dec()
				t.poke()
			}
		})
	}
}

// Follow records that a worker connection of team is on this replica.
// advise, which is required, is called with the interval the worker should
// sample at: as soon as it is known (at once if the team is already
// followed or watched here and its state known, else when a watcher
// answers, or after Discover with Unwatched), then at each change, never
// with the same interval twice in a row. It is called from the advisor's
// goroutines, never concurrently for one Follow; it must not block nor
// call leave. leave ends the Follow (further calls do nothing); no advise
// call is in progress or made once it has returned. After Close, or for an
// invalid team name, Follow does nothing.
func (a *Advisor) Follow(team string, advise func(interval time.Duration)) (leave func()) {
	if advise == nil {
		panic("sampling: Follow with a nil advise")
	}
	if err := tracking.ValidTeam(team); err != nil {
		a.log.Warn("sampling: follow of an invalid team ignored", "team", team, "err", err)
		return func() {}
	}
	f := &follower{advise: advise}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.teamLocked(team)
	if t == nil {
		return func() {}
	}
	t.follows[f] = struct{}{}
	t.joined = true
	if len(t.follows) == 1 {
		a.m.teamsFollowed.Inc()
	}
	t.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			delete(t.follows, f)
			if len(t.follows) == 0 {
				a.m.teamsFollowed.Dec()
			}
			t.poke()
			a.mu.Unlock()
			f.mu.Lock()
			f.ended = true
			f.mu.Unlock()
		})
	}
}

// Watched reports whether team is currently advised Watched on this
// replica: false for a team neither watched nor followed here.
func (a *Advisor) Watched(team string) bool {
	a.mu.Lock()
	t := a.teams[team]
	a.mu.Unlock()
	return t != nil && t.watched.Load()
}

// Close ends every listen and goroutine of the advisor. A replica with
// watchers tells the others it stopped watching (best effort: if that
// mail is lost, its leases lapse). Followers are not advised again.
// Idempotent.
func (a *Advisor) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
}
