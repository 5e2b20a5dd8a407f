package wire

import (
	"bytes"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// A worker's presence status on the manager stream (tracking.KindStatus):
//
//	{"workerId":"w-17","team":"team_one","status":"idle","reason":"silent","since":"2026-11-22T13:21:04.123Z"}
//
// status is online (sending), idle (connected, no position for a while) or
// offline; reason says why a worker is idle or offline (disconnected,
// silent, token_expired, rate_limited, replaced) and is left out when
// there is none; since is when the status began. The fields come in this
// order: everything before "since" identifies the status itself.

// Statuses of a worker.
const (
	StatusOnline  = "online"
	StatusIdle    = "idle"
	StatusOffline = "offline"
)

// Reasons of a status.
const (
	StatusDisconnected = "disconnected"
	StatusSilent       = "silent"
	StatusTokenExpired = "token_expired"
	StatusRateLimited  = "rate_limited"
	StatusReplaced     = "replaced"
)

// StatusChange is one status of one worker, as published.
type StatusChange struct {
	Team, Worker string
	// Session is when the connection that reports it began: the status of
	// a newer session supersedes those of older ones.
	Session time.Time
	Status  string // Status* constants
	Reason  string // Status* reasons, or ""
	Since   time.Time
}

// NewStatusMessage returns c as it travels (tracking.KindStatus): Time is the
// session, Received the change, the JSON as above.
func NewStatusMessage(c StatusChange) tracking.Message {
	b := make([]byte, 0, 96+len(c.Team)+len(c.Worker))
	b = append(b, `{"workerId":"`...)
	b = append(b, c.Worker...) // validated ids need no escaping
	b = append(b, `","team":"`...)
	b = append(b, c.Team...)
	b = append(b, `","status":"`...)
	b = append(b, c.Status...)
	b = append(b, '"')
	if c.Reason != "" {
		b = append(b, `,"reason":"`...)
		b = append(b, c.Reason...)
		b = append(b, '"')
	}
	b = append(b, `,"since":"`...)
	b = appendTimeStamp(b, c.Since)
	b = append(b, '"', '}')
	return tracking.Message{Kind: tracking.KindStatus, Team: c.Team, Worker: c.Worker,
		Time: c.Session.UnixNano(), Received: c.Since.UnixNano(), JSON: b}
}

var sinceField = []byte(`,"since":`)

// StatusIdentity returns the part of a status record that says which status
// it is (all but "since"): two records with the same identity report the
// same status, and the second is no change.
func StatusIdentity(record []byte) []byte {
	if i := bytes.Index(record, sinceField); i >= 0 {
		return record[:i]
	}
	return record
}
