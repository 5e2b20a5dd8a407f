package proximity

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/geofence"
)

// Limits of a rule, checked by Validate.
const (
	MaxDistance = 100000.0 // metres
	MaxFor      = 24 * time.Hour
	MaxWorkers  = 1000 // workers listed in an alone rule
)

// Rule is a proximity rule of a team.
//
//   - Kind geofence.Apart: the two Workers farther than Distance from each
//     other for longer than For;
//   - Kind geofence.Alone: a worker (of Workers, or any worker of the team
//     when Workers is empty) with no teammate (any worker of the team)
//     within Distance for longer than For.
//
// JSON: {"id":"pair-1","team":"team_one","name":"Buddy system","kind":"apart",
// "workers":["w-1","w-2"],"distance":200,"for":"5m"}.
type Rule struct {
	ID       string
	Team     string
	Name     string
	Kind     geofence.Kind
	Workers  []string
	Distance float64       // metres
	For      time.Duration // 0: at once
}

// Validate checks r; the error, a *tracking.Error, names the field.
func (r *Rule) Validate() error {
	if err := tracking.ValidateID("id", r.ID, 64); err != nil {
		return err
	}
	if r.Team != "" {
		if err := tracking.ValidTeam(r.Team); err != nil {
			return err
		}
	}
	if len(r.Name) > geofence.MaxNameLen {
		return fieldError("name", "must be at most %d bytes", geofence.MaxNameLen)
	}
	switch r.Kind {
	case geofence.Apart:
		if len(r.Workers) != 2 {
			return fieldError("workers", "an apart rule names exactly two workers, got %d", len(r.Workers))
		}
		if r.Workers[0] == r.Workers[1] {
			return fieldError("workers[1]", "must differ from workers[0]")
		}
	case geofence.Alone:
		if len(r.Workers) > MaxWorkers {
			return fieldError("workers", "at most %d workers, got %d", MaxWorkers, len(r.Workers))
		}
	default:
		return fieldError("kind", `must be "apart" or "alone", got %q`, r.Kind)
	}
	for i, w := range r.Workers {
		if err := tracking.ValidateID(fmt.Sprintf("workers[%d]", i), w, 64); err != nil {
			return err
		}
	}
	if math.IsNaN(r.Distance) || r.Distance <= 0 || r.Distance > MaxDistance {
		return fieldError("distance", "must be a number of metres in (0, %g], got %v", MaxDistance, r.Distance)
	}
	if r.For < 0 || r.For > MaxFor {
		return fieldError("for", "must be between 0s and %s, got %s", MaxFor, r.For)
	}
	return nil
}

type ruleJSON struct {
	ID       string        `json:"id"`
	Team     string        `json:"team,omitempty"`
	Name     string        `json:"name,omitempty"`
	Kind     geofence.Kind `json:"kind"`
	Workers  []string      `json:"workers,omitempty"`
	Distance float64       `json:"distance"`
	For      string        `json:"for,omitempty"`
}

// MarshalJSON writes the JSON form of r, For as a Go duration ("5m0s").
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{ID: r.ID, Team: r.Team, Name: r.Name, Kind: r.Kind, Workers: r.Workers, Distance: r.Distance}
	if r.For > 0 {
		j.For = r.For.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads and validates the JSON form of a rule.
func (r *Rule) UnmarshalJSON(data []byte) error {
	var j ruleJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return tracking.Errorf(tracking.CodeInvalidJSON, "a rule must be a JSON object with the documented members")
	}
	v := Rule{ID: j.ID, Team: j.Team, Name: j.Name, Kind: j.Kind, Workers: j.Workers, Distance: j.Distance}
	if j.For != "" {
		d, err := time.ParseDuration(j.For)
		if err != nil {
			return fieldError("for", `must be a duration such as "5m", got %q`, j.For)
		}
		v.For = d
	}
	if err := v.Validate(); err != nil {
		return err
	}
	*r = v
	return nil
}

func fieldError(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}
