package discovery

import "time"

// emptyGrace decides, for one followed service, whether an empty answer of
// Consul is believed at once. A -dev agent (or one whose data was lost) that
// restarts comes back knowing no service, and the replicas register again
// only at their next retry, a few seconds later: believing that first empty
// answer would make the gateway refuse every client meanwhile, although the
// replicas never stopped. So after a reconnect (the agent was unreachable, or
// its index went backwards) an empty answer keeps the last non-empty set for
// grace; an answer with instances ends the doubt at once; an empty set still
// answered once grace has passed is believed. An empty answer that does not
// follow a reconnect is believed at once: the replicas did go.
type emptyGrace struct {
	grace time.Duration // <= 0: every answer is believed

	reconnected bool      // a reconnect happened and no answer settled it yet
	until       time.Time // non-zero while an empty answer is doubted: the end of the grace
}

// reconnect notes that the agent was reached again, or was reset.
func (g *emptyGrace) reconnect() { g.reconnected = true }

// doubting reports whether an empty answer is being doubted.
func (g *emptyGrace) doubting() bool { return !g.until.IsZero() }

// keepLast reports whether set, just answered at now, must not replace last,
// the set served so far.
func (g *emptyGrace) keepLast(set, last []Instance, now time.Time) bool {
	if len(set) == 0 && len(last) > 0 && g.reconnected && g.grace > 0 {
		if g.until.IsZero() {
			g.until = now.Add(g.grace)
		}
		if now.Before(g.until) {
			return true
		}
	}
	g.reconnected, g.until = false, time.Time{}
	return false
}

// wait bounds the next blocking query so that the resolver looks again when
// the grace ends, even if the agent has nothing new to say by then.
func (g *emptyGrace) wait(waitTime time.Duration, now time.Time) time.Duration {
	if g.until.IsZero() {
		return waitTime
	}
	// Never below 10ms: a wait that rounds to 0 would be the agent's default (5m).
	return max(min(waitTime, g.until.Sub(now)), 10*time.Millisecond)
}
