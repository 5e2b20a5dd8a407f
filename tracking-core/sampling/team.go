package sampling

import (
	"context"
	"math/rand/v2"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// postTimeout bounds a post. Posts only queue (tracking.Mailbox.Post), so
// this is against an adapter stuck on its queue.
const postTimeout = 2 * time.Second

// Listen retries back off from minBackoff, doubling, up to the heartbeat.
const minBackoff = 100 * time.Millisecond

// loop is the state of one team's goroutine; only that goroutine uses it.
type loop struct {
	a    *Advisor
	t    *team
	addr tracking.Address

	sub      tracking.Subscription // nil while not listening
	listenAt time.Time             // when to try to listen again, while sub is nil
	backoff  time.Duration

	watching bool      // this replica has announced a watch (and not its end)
	beatAt   time.Time // when to renew it

	leases     map[string]time.Time // other replicas' watches, by replica: when each lapses
	discoverAt time.Time            // zero until the first listen attempt: Unwatched is advised from then on
	state      state                // what is advised
	graceAt    time.Time            // while in grace (unwatched, still advised Watched): when it ends
	counted    bool                 // counted in the advisedWatched gauge

	postFailing, listenFailing bool // for logging a failure once, not at each retry
}

// run is the team's goroutine: it listens on the team's address, posts
// this replica's mail, keeps the leases and advises the followers, until
// the team is neither watched nor followed here, or Close.
func (a *Advisor) run(t *team) {
	defer a.wg.Done()
	l := &loop{a: a, t: t, addr: tracking.Address{Team: t.name}, leases: make(map[string]time.Time)}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if a.ctx.Err() != nil {
			l.close()
			return
		}
		if !l.step(time.Now()) {
			return
		}
		var subDone <-chan struct{}
		if l.sub != nil {
			subDone = l.sub.Done()
		}
		// Since Go 1.23 Reset discards a pending expiry: no draining.
		timer.Reset(max(time.Until(l.next()), 0))
		select {
		case <-a.ctx.Done():
		case <-t.kick:
		case <-timer.C:
		case <-subDone:
			if a.ctx.Err() == nil {
				l.lost()
			}
		}
	}
}

// step does what is due at now; false when the team has ended here.
func (l *loop) step(now time.Time) bool {
	a, t := l.a, l.t
	a.mu.Lock()
	watches, follows, joined := t.watches, len(t.follows), t.joined
	t.joined = false
	if watches == 0 && follows == 0 && !l.watching {
		// Removed here, with the counts checked, so that a Watch or Follow
		// either finds this goroutine still running or starts another once
		// this one has posted all its mail (an unwatch of this goroutine
		// cannot overtake a watch of the next).
		if a.teams[t.name] == t {
			delete(a.teams, t.name)
		}
		a.mu.Unlock()
		l.end()
		return false
	}
	a.mu.Unlock()

	if l.sub == nil && !now.Before(l.listenAt) {
		l.listen()
		now = time.Now()
	}
	answer := l.read(now)

	switch {
	case watches > 0 && !l.watching:
		l.watching = true
		l.beatAt = now
	case watches == 0 && l.watching:
		l.watching = false
		l.post(a.ctx, kindUnwatch, a.unwatchMail)
		if follows == 0 {
			t.poke() // come back to end
		}
	}
	if l.watching && (answer || !now.Before(l.beatAt)) {
		l.post(a.ctx, kindWatch, a.watchMail)
		l.beatAt = now.Add(a.cfg.Heartbeat)
	}

	for r, until := range l.leases {
		if !now.Before(until) {
			delete(l.leases, r)
			a.log.Debug("sampling: watch lapsed", "team", t.name, "replica", r)
		}
	}
	prev := l.state
	switch {
	case watches > 0 || len(l.leases) > 0:
		l.state, l.graceAt = stateWatched, time.Time{}
	case l.state == stateWatched:
		if l.graceAt.IsZero() {
			l.graceAt = now.Add(a.cfg.Grace)
		} else if !now.Before(l.graceAt) {
			l.state, l.graceAt = stateUnwatched, time.Time{}
		}
	case l.state == stateUnknown && !l.discoverAt.IsZero() && !now.Before(l.discoverAt):
		l.state = stateUnwatched
	}
	if l.state != prev {
		a.log.Debug("sampling: advice", "team", t.name, "advice", l.state.String())
	}
	t.watched.Store(l.state == stateWatched)
	if (l.state != prev || joined) && l.state != stateUnknown && follows > 0 {
		l.advise()
	}
	l.count(follows > 0 && l.state == stateWatched)
	return true
}

// state is what a team is advised as.
type state uint8

const (
	stateUnknown   state = iota // not yet known: nothing advised
	stateWatched                // Config.Watched
	stateUnwatched              // Config.Unwatched
)

func (s state) String() string {
	switch s {
	case stateWatched:
		return "watched"
	case stateUnwatched:
		return "unwatched"
	}
	return "unknown"
}

// next is when step has something to do next, with no mail nor kick.
func (l *loop) next() time.Time {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if l.sub == nil {
		earliest(l.listenAt)
	}
	if l.watching {
		earliest(l.beatAt)
	}
	for _, until := range l.leases {
		earliest(until)
	}
	earliest(l.graceAt)
	if l.state == stateUnknown {
		earliest(l.discoverAt)
	}
	if at.IsZero() {
		return time.Now().Add(time.Hour) // only mail or a kick can change anything
	}
	return at
}

// read applies the mail waiting; true when a "who" asks this replica to
// announce its watch.
func (l *loop) read(now time.Time) (answer bool) {
	for _, p := range l.t.takeInbox() {
		m, ok := parseMail(p)
		if !ok || m.Replica == l.a.cfg.Replica {
			continue
		}
		switch m.Sampling {
		case kindWatch:
			if _, ok := l.leases[m.Replica]; !ok {
				l.a.log.Debug("sampling: watch", "team", l.t.name, "replica", m.Replica)
			}
			l.leases[m.Replica] = now.Add(m.lease(l.a.lease))
		case kindUnwatch:
			delete(l.leases, m.Replica)
			l.a.log.Debug("sampling: unwatch", "team", l.t.name, "replica", m.Replica)
		case kindWho:
			answer = true
		}
	}
	return answer
}

// advise tells each follower the advice unless it was the last it got.
func (l *loop) advise() {
	a, t := l.a, l.t
	a.mu.Lock()
	fs := make([]*follower, 0, len(t.follows))
	for f := range t.follows {
		fs = append(fs, f)
	}
	a.mu.Unlock()
	interval := a.cfg.Unwatched
	if l.state == stateWatched {
		interval = a.cfg.Watched
	}
	for _, f := range fs {
		f.mu.Lock()
		if !f.ended && f.last != interval {
			f.advise(interval)
			f.last = interval
			a.m.advice.WithLabelValues(l.state.String()).Inc()
		}
		f.mu.Unlock()
	}
}

// count sets whether the team counts in the advisedWatched gauge.
func (l *loop) count(on bool) {
	if on == l.counted {
		return
	}
	l.counted = on
	if on {
		l.a.m.advisedWatched.Inc()
	} else {
		l.a.m.advisedWatched.Dec()
	}
}

// listen tries to listen on the team's address; once in place, it asks
// who watches, and has this replica's watch announced again (mail may
// have been lost while it was not listening).
func (l *loop) listen() {
	a := l.a
	sub, err := a.cfg.Mailbox.Listen(a.ctx, l.addr, l.t.deliver)
	if l.discoverAt.IsZero() {
		// Also after a failure: followers are told Unwatched rather than
		// nothing while the broker cannot be reached.
		l.discoverAt = time.Now().Add(a.cfg.Discover)
	}
	if err != nil {
		if a.ctx.Err() != nil {
			return
		}
		a.m.errors.WithLabelValues("listen").Inc()
		l.retryListen()
		if !l.listenFailing {
			l.listenFailing = true
			a.log.Warn("sampling: cannot listen for the team's watchers; retrying", "team", l.t.name, "err", err)
		}
		return
	}
	if l.listenFailing {
		l.listenFailing = false
		a.log.Info("sampling: listening for the team's watchers again", "team", l.t.name)
	}
	l.sub, l.backoff = sub, 0
	l.post(a.ctx, kindWho, a.whoMail)
	if l.watching {
		l.beatAt = time.Time{}
	}
}

// lost handles the end of the listen other than by Close (the Broadcaster
// closed, or gave up): listen again after a backoff.
func (l *loop) lost() {
	l.sub = nil
	l.retryListen()
	l.a.log.Warn("sampling: the listen for the team's watchers ended; listening again", "team", l.t.name)
}

// retryListen schedules the next listen attempt: a doubling backoff up to
// the heartbeat, jittered so that the teams of a replica do not all retry
// at once when the broker comes back.
func (l *loop) retryListen() {
	l.backoff = min(max(2*l.backoff, minBackoff), max(l.a.cfg.Heartbeat, minBackoff))
	l.listenAt = time.Now().Add(l.backoff/2 + rand.N(l.backoff/2+1))
}

// post sends this replica's mail of kind; a failure is logged and made
// good by the next heartbeat (a watch) or by the leases (an unwatch).
func (l *loop) post(ctx context.Context, kind string, payload []byte) {
	a := l.a
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	if err := a.cfg.Mailbox.Post(ctx, l.addr, payload); err != nil {
		a.m.errors.WithLabelValues("post").Inc()
		if !l.postFailing {
			l.postFailing = true
			a.log.Warn("sampling: cannot post to the team's address", "team", l.t.name, "mail", kind, "err", err)
		}
		return
	}
	a.m.mail.WithLabelValues(kind).Inc()
	if l.postFailing {
		l.postFailing = false
		a.log.Info("sampling: posting to the team's address again", "team", l.t.name)
	}
}

// end releases the team's listen once it is neither watched nor followed.
func (l *loop) end() {
	if l.sub != nil {
		l.sub.Unsubscribe()
	}
	l.count(false)
	l.t.watched.Store(false)
}

// close ends the team at Close: a watching replica says it stops.
func (l *loop) close() {
	if l.watching {
		l.watching = false
		l.post(context.WithoutCancel(l.a.ctx), kindUnwatch, l.a.unwatchMail)
	}
	l.end()
}
