package sampling

import (
	"encoding/json"
	"time"
)

// The values of a mail's "sampling" field.
const (
	kindWatch   = "watch"
	kindUnwatch = "unwatch"
	kindWho     = "who"
)

// mail is one message of the protocol (see doc.go).
type mail struct {
	Sampling string `json:"sampling"`
	Replica  string `json:"replica"`
	// LeaseMS, on "watch", is how long the sender's watch holds without a
	// renewal: the receiver uses the sender's, not its own, so that
	// replicas configured with different heartbeats (a rolling change)
	// do not let each other's watches lapse between heartbeats.
	LeaseMS int64 `json:"lease_ms,omitempty"`
}

// encode returns the payload of m (it cannot fail: strings and a number).
func (m mail) encode() []byte {
	p, _ := json.Marshal(m)
	return p
}

// parseMail returns the mail in payload, false for anything that is not
// sampling mail (other components may share the team's address).
func parseMail(payload []byte) (mail, bool) {
	var m mail
	if err := json.Unmarshal(payload, &m); err != nil || m.Replica == "" {
		return mail{}, false
	}
	switch m.Sampling {
	case kindWatch, kindUnwatch, kindWho:
		return m, true
	}
	return mail{}, false
}

// maxLease bounds the lease a "watch" may claim: a bad value must not keep
// a team watched (its phones at 1s) for days, nor overflow a Duration.
const maxLease = time.Hour

// lease is how long the watch announced by m holds, or def when m does not say.
func (m mail) lease(def time.Duration) time.Duration {
	if m.LeaseMS <= 0 {
		return def
	}
	if m.LeaseMS >= maxLease.Milliseconds() {
		return maxLease
	}
	return time.Duration(m.LeaseMS) * time.Millisecond
}
