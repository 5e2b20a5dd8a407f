package messaging

import (
	"cmp"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Limits of a message.
const (
	MaxBodyBytes  = 16 << 10 // a body is at most 16 KiB
	MinTTL        = time.Second
	MaxTTL        = 7 * 24 * time.Hour
	MaxRecipients = 10_000
	MaxLimit      = 10_000 // the largest page of Pending and Expire
)

// State is where a recipient's delivery stands (see the package doc).
type State string

const (
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateAcked     State = "acked"
	StateRead      State = "read"
	StateExpired   State = "expired"
)

// Rank orders the states for the forward-only rule: sent 0, delivered 1,
// acked 2, read 3, expired 4; -1 for anything else. Backends store the rank.
func (s State) Rank() int {
	switch s {
	case StateSent:
		return 0
	case StateDelivered:
		return 1
	case StateAcked:
		return 2
	case StateRead:
		return 3
	case StateExpired:
		return 4
	}
	return -1
}

// StateOfRank is the inverse of Rank ("" for an unknown rank).
func StateOfRank(r int) State {
	switch r {
	case 0:
		return StateSent
	case 1:
		return StateDelivered
	case 2:
		return StateAcked
	case 3:
		return StateRead
	case 4:
		return StateExpired
	}
	return ""
}

// Message is a dispatch message of a team's manager to some of its workers.
type Message struct {
	ID     string // assigned by Create when empty
	Team   string
	Sender string // who sent it (the manager's identity), 1-200 bytes
	// Body is the JSON object the workers get, at most MaxBodyBytes,
	// kept byte for byte.
	Body json.RawMessage
	// CreatedAt orders a worker's pending messages; ExpiresAt is
	// CreatedAt plus the ttl (MinTTL to MaxTTL). Both are kept to the
	// microsecond, in UTC.
	CreatedAt, ExpiresAt time.Time
	// Recipients, 1 to MaxRecipients distinct workers, in the order given
	// ("all" is for the caller to expand into the team's workers).
	Recipients []Recipient
}

// Recipient is one worker a message is for, and how far its delivery got.
// A time is zero until its state is reached.
type Recipient struct {
	Worker string
	State  State
	// DeliveredAt, AckedAt, ReadAt and ExpiredAt are when each state was
	// reached. Expire sets ExpiredAt to the message's ExpiresAt.
	DeliveredAt, AckedAt, ReadAt, ExpiredAt time.Time
}

// Expired is one recipient that Store.Expire expired: the caller publishes
// it as an "expired" event.
type Expired struct {
	Team, ID, Worker string
	At               time.Time // the message's ExpiresAt
}

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("messaging: store closed")

// Stamp is the precision of stored times: PostgreSQL keeps microseconds,
// so every backend does, and what Create returns is what Get returns.
func Stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CompareExpired orders Expire's answer: by At, Team, ID, Worker.
func CompareExpired(a, b Expired) int {
	return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Team, b.Team),
		strings.Compare(a.ID, b.ID), strings.Compare(a.Worker, b.Worker))
}
