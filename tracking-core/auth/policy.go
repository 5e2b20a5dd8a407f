package auth

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// CanPublish reports whether the holder may publish a position of worker
// workerID in team: a worker only as its own WorkerID into one of its
// Teams, an admin (and the anonymous claims) anything, a manager nothing.
// The error is a *tracking.Error with CodeForbidden naming the mismatch.
func (c *Claims) CanPublish(team, workerID string) error {
	if c == nil {
		return tracking.Errorf(tracking.CodeUnauthorized, "no credentials")
	}
	switch c.Role {
	case RoleAdmin:
		return nil
	case RoleWorker:
		if workerID == c.WorkerID && slices.Contains(c.Teams, team) {
			return nil
		}
		return tracking.Errorf(tracking.CodeForbidden, "token is for worker %s of %s, record is for %s of %s",
			c.WorkerID, teamList(c.Teams, " or "), clip(workerID), clip(team))
	default:
		return tracking.Errorf(tracking.CodeForbidden, "a %s token may not publish positions (record is for %s of %s)",
			c.roleName(), clip(workerID), clip(team))
	}
}

// CanWatch reports whether the holder may watch team (its stream and its
// last positions): a manager only its Teams, an admin (and the anonymous
// claims) any team, a worker none. The error is a *tracking.Error with
// CodeForbidden naming the mismatch.
func (c *Claims) CanWatch(team string) error {
	if c == nil {
		return tracking.Errorf(tracking.CodeUnauthorized, "no credentials")
	}
	switch c.Role {
	case RoleAdmin:
		return nil
	case RoleManager:
		if slices.Contains(c.Teams, team) {
			return nil
		}
		return tracking.Errorf(tracking.CodeForbidden, "token is for manager %s of %s, not of %s",
			clip(c.Subject), teamList(c.Teams, " and "), clip(team))
	default:
		return tracking.Errorf(tracking.CodeForbidden, "a %s token may not watch teams (asked for %s)",
			c.roleName(), clip(team))
	}
}

// Remaining returns how long the token is still valid at now: zero once it
// has expired, and the longest duration there is for claims that do not
// expire (Anonymous). A stream handler ends the stream, with a reconnect
// hint, when it runs out.
//
// The verifier accepts tokens up to Options.ClockSkew past their expiry;
// Remaining does not: a stream opened within that grace ends at once.
func (c *Claims) Remaining(now time.Time) time.Duration {
	if c.Expires.IsZero() {
		return math.MaxInt64
	}
	return max(c.Expires.Sub(now), 0)
}

func (c *Claims) roleName() string {
	if c.Role == "" {
		return "role-less"
	}
	return string(c.Role)
}

// teamList names teams for a message, eliding the middle of long lists.
func teamList(teams []string, conj string) string {
	const show = 4
	switch {
	case len(teams) == 0:
		return "no team"
	case len(teams) <= show:
		if len(teams) == 1 {
			return teams[0]
		}
		return strings.Join(teams[:len(teams)-1], ", ") + conj + teams[len(teams)-1]
	default:
		return strings.Join(teams[:show], ", ") + " and " + strconv.Itoa(len(teams)-show) + " more"
	}
}
