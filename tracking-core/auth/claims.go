package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
)

// Role is what a token's holder is to the platform.
type Role string

const (
	RoleWorker  Role = "worker"  // publishes its own positions
	RoleManager Role = "manager" // watches its teams
	RoleAdmin   Role = "admin"   // anything
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	return r == RoleWorker || r == RoleManager || r == RoleAdmin
}

// maxSubjectLen bounds sub: it is logged and quoted in error messages.
const maxSubjectLen = 256

// Claims is what a verified token says about its holder. The JWT claim
// each field comes from is named in brackets; see the package doc.
type Claims struct {
	Subject  string    // [sub] who the token was issued to
	Role     Role      // [role]
	Teams    []string  // [teams] the teams a worker publishes into or a manager watches
	WorkerID string    // [worker_id, default sub] the workerId a worker publishes as; "" for other roles
	Expires  time.Time // [exp] zero only for Anonymous claims, which do not expire

	// Anonymous marks the claims mode none grants every request: an
	// admin-equivalent stand-in, not a token. Callers may log it.
	Anonymous bool
}

// LogValue implements slog.LogValuer: the claims minus nothing secret.
func (c *Claims) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<none>")
	}
	if c.Anonymous {
		return slog.GroupValue(slog.Bool("anonymous", true))
	}
	attrs := []slog.Attr{slog.String("sub", c.Subject), slog.String("role", string(c.Role))}
	if c.WorkerID != "" {
		attrs = append(attrs, slog.String("worker", c.WorkerID))
	}
	if len(c.Teams) > 0 {
		attrs = append(attrs, slog.Any("teams", c.Teams))
	}
	return slog.GroupValue(attrs...)
}

// wireClaims is the JSON form of a token's claims.
type wireClaims struct {
	jwt.RegisteredClaims
	Role     string           `json:"role,omitempty"`
	Teams    jwt.ClaimStrings `json:"teams,omitempty"`
	WorkerID string           `json:"worker_id,omitempty"`
}

// claimError is a problem with one claim, worded without the claim's
// context so that the verifier (unauthorized) and the issuer (bad request)
// can each frame it.
type claimError struct {
	claim string
	msg   string
}

// normalize checks the claims that do not depend on the time or on the
// verifier's options and fills in the defaults (WorkerID). It is shared by
// Verify and Issue, so that every token the Issuer signs verifies.
func (c *Claims) normalize() *claimError {
	switch {
	case c.Subject == "":
		return &claimError{"sub", "is missing"}
	case len(c.Subject) > maxSubjectLen:
		return &claimError{"sub", fmt.Sprintf("is %d bytes long, more than %d", len(c.Subject), maxSubjectLen)}
	case !utf8.ValidString(c.Subject):
		return &claimError{"sub", "is not valid UTF-8"}
	}
	switch {
	case c.Role == "":
		return &claimError{"role", "is missing (want worker, manager or admin)"}
	case !c.Role.Valid():
		return &claimError{"role", fmt.Sprintf("%q is not one of worker, manager, admin", clip(string(c.Role)))}
	}
	for i, t := range c.Teams {
		if err := tracking.ValidTeam(t); err != nil {
			return &claimError{fmt.Sprintf("teams[%d]", i), fmt.Sprintf("%q: %s", clip(t), errMessageOnly(err))}
		}
	}
	if c.Role != RoleAdmin && len(c.Teams) == 0 {
		return &claimError{"teams", fmt.Sprintf("is missing: a %s needs at least one team", c.Role)}
	}
	if c.Role != RoleWorker {
		c.WorkerID = ""
		return nil
	}
	if c.WorkerID == "" {
		c.WorkerID = c.Subject
	}
	if err := tracking.ValidateID("worker_id", c.WorkerID, 64); err != nil {
		what := "worker_id"
		if c.WorkerID == c.Subject {
			what = "worker_id (defaulting to sub)"
		}
		return &claimError{what, fmt.Sprintf("%q is not a valid workerId: %s", clip(c.WorkerID), errMessageOnly(err))}
	}
	return nil
}

// errMessageOnly is the message of a *tracking.Error without its field.
func errMessageOnly(err error) string {
	if e, ok := errors.AsType[*tracking.Error](err); ok {
		return e.Message
	}
	return err.Error()
}

// clip shortens client-supplied text quoted in messages.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "..."
		}
	}
	return s[:n] + "..."
}
