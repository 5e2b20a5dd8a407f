package tracking

// Kind says what a Message carries. A team's stream at the broker carries
// positions and, between them in the same order, the events about the
// team's workers: status changes (presence) and alerts (geofences and
// proximity rules). Every kind has an Offset and is resumed like positions.
type Kind uint8

const (
	// KindPosition is a position record (the zero Kind). Time is the fix
	// time; the newest fix of each worker is its last known position.
	KindPosition Kind = iota
	// KindStatus is a worker's presence status. Time is the start of the
	// worker's connection (its session) and Received the change: a status
	// of a newer session always wins over those of an older one, and within
	// a session the later change wins. The newest of each worker is part of
	// Last, like its newest position.
	KindStatus
	// KindAlert is an alert about a worker (entering a fence, being apart
	// from a teammate...). Time is the fix time that raised it. Alerts are
	// never superseded: a slow manager's queue keeps every one, and Last
	// has none.
	KindAlert
	// KindDelivery is a change of a dispatch message's delivery to one
	// worker (sent, delivered, acked, read, expired). Time is the change.
	// Like alerts, deliveries are never superseded and Last has none.
	KindDelivery
	numKinds
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k < numKinds }

// String names k as the streams do (SSE event names, WebSocket types).
func (k Kind) String() string {
	switch k {
	case KindPosition:
		return "position"
	case KindStatus:
		return "status"
	case KindAlert:
		return "alert"
	case KindDelivery:
		return "delivery"
	}
	return "unknown"
}

// InLast reports whether the newest message of a worker of kind k is part of
// Last (positions and statuses), and so whether a newer one supersedes it on
// a slow manager's queue. Events of the other kinds are each kept.
func (k Kind) InLast() bool { return k == KindPosition || k == KindStatus }

// Supersedes reports whether m replaces prev as its worker's last message of
// their kind (both of the same worker and Kind): for positions the newer
// fix, for statuses the newer session, then the later change. Equal keys
// supersede, so that of two publishings of the same key the later wins.
func (m *Message) Supersedes(prev *Message) bool {
	if m.Kind == KindStatus {
		if m.Time != prev.Time {
			return m.Time > prev.Time
		}
		return m.Received >= prev.Received
	}
	return m.Time >= prev.Time
}
