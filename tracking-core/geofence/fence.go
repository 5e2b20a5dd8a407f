package geofence

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

// Limits of a fence, checked by Validate (and so by ParseFence).
const (
	MaxNameLen    = 128     // bytes of Fence.Name
	MaxPositions  = 10000   // positions over all rings of a fence
	MaxRadius     = 50000.0 // metres, of a circle
	MaxExtent     = 1.0     // degrees of latitude or longitude a polygon may span
	MaxDwell      = 7 * 24 * time.Hour
	maxRings      = 1000
	maxPolygons   = 1000
	maxScheduleTZ = 64
)

// Fence is a named area of a team that the evaluator reports enter, exit and
// dwell events for. Its JSON form is described in the package doc.
type Fence struct {
	ID       string // 1-64 of [A-Za-z0-9_.:-]; assigned by the service when created
	Team     string // the team it belongs to
	Name     string // shown to managers; 1-128 bytes of UTF-8
	Geometry Geometry
	// Dwell, when positive, asks for a dwell event once a worker has been
	// inside for that long.
	Dwell time.Duration
	// Schedule, when not nil, limits the fence to certain days and hours.
	Schedule *Schedule
	// UpdatedAt is set by the store on every change.
	UpdatedAt time.Time
}

// Validate checks every field of f; the error, a *tracking.Error with code
// invalid_field, names the first offending field as its JSON path (such as
// "geometry.coordinates[0][3]"). ID and Team may be empty (the service fills
// them from the request path); when present they must be well formed.
func (f *Fence) Validate() error {
	if f.ID != "" {
		if err := tracking.ValidateID("id", f.ID, 64); err != nil {
			return err
		}
	}
	if f.Team != "" {
		if err := tracking.ValidTeam(f.Team); err != nil {
			return err
		}
	}
	if err := validateName(f.Name); err != nil {
		return err
	}
	if err := f.Geometry.validate("geometry"); err != nil {
		return err
	}
	if f.Dwell < 0 || f.Dwell > MaxDwell {
		return fieldError("dwell", "must be between 0s and %s, got %s", MaxDwell, f.Dwell)
	}
	if f.Schedule != nil {
		return f.Schedule.validate("schedule")
	}
	return nil
}

func validateName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fieldError("name", "is required")
	case len(s) > MaxNameLen:
		return fieldError("name", "must be at most %d bytes, got %d", MaxNameLen, len(s))
	case !utf8.ValidString(s):
		return fieldError("name", "must be valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fieldError("name", "must not contain control characters")
		}
	}
	return nil
}

func (g *Geometry) validate(field string) error {
	switch g.Type {
	case Circle:
		if err := validPosition(field+".coordinates", g.Center); err != nil {
			return err
		}
		if !finite(g.Radius) || g.Radius <= 0 || g.Radius > MaxRadius {
			return fieldError(field+".radius", "must be a number of metres in (0, %g], got %v", MaxRadius, g.Radius)
		}
		return nil
	case Polygon:
		if len(g.Polygons) != 1 {
			return fieldError(field+".coordinates", "a Polygon has exactly one set of rings")
		}
		return validPolygons(field+".coordinates", g.Polygons, false)
	case MultiPolygon:
		if len(g.Polygons) == 0 {
			return fieldError(field+".coordinates", "a MultiPolygon needs at least one polygon")
		}
		if len(g.Polygons) > maxPolygons {
			return fieldError(field+".coordinates", "at most %d polygons, got %d", maxPolygons, len(g.Polygons))
		}
		return validPolygons(field+".coordinates", g.Polygons, true)
	case "":
		return fieldError(field+".type", "is required")
	default:
		return fieldError(field+".type", `must be "Polygon", "MultiPolygon" or "Point" (a circle, with "radius"), got %q`, clip(string(g.Type), 40))
	}
}

func validPolygons(field string, polys []Rings, multi bool) error {
	total := 0
	b := box{minLat: 90, minLon: 180, maxLat: -90, maxLon: -180}
	// Paths are only formatted for an error: NewIndex validates every
	// position of every fence.
	polyField := func(i int) string {
		if multi {
			return fmt.Sprintf("%s[%d]", field, i)
		}
		return field
	}
	ringField := func(i, j int) string { return fmt.Sprintf("%s[%d]", polyField(i), j) }
	for i, rings := range polys {
		if len(rings) == 0 {
			return fieldError(polyField(i), "a polygon needs an outer ring")
		}
		if len(rings) > maxRings {
			return fieldError(polyField(i), "at most %d rings, got %d", maxRings, len(rings))
		}
		for j, r := range rings {
			if len(r) < 4 {
				return fieldError(ringField(i, j), "a ring needs at least 4 positions (closed: the last equals the first), got %d", len(r))
			}
			total += len(r)
			if total > MaxPositions {
				return fieldError(field, "at most %d positions in all, got more", MaxPositions)
			}
			for k, p := range r {
				if !validLonLat(p) {
					return validPosition(fmt.Sprintf("%s[%d]", ringField(i, j), k), p)
				}
				b.minLat, b.maxLat = math.Min(b.minLat, p.Lat), math.Max(b.maxLat, p.Lat)
				b.minLon, b.maxLon = math.Min(b.minLon, p.Lon), math.Max(b.maxLon, p.Lon)
			}
			if r[0] != r[len(r)-1] {
				return fieldError(fmt.Sprintf("%s[%d]", ringField(i, j), len(r)-1), "a ring must be closed: the last position must equal the first")
			}
			if ringArea(r) == 0 {
				return fieldError(ringField(i, j), "the ring encloses no area (its positions are on one line)")
			}
		}
	}
	if b.maxLat-b.minLat > MaxExtent || b.maxLon-b.minLon > MaxExtent {
		return fieldError(field, "spans more than %g° of latitude or longitude (fences are city-sized; one crossing the antimeridian is not supported)", MaxExtent)
	}
	return nil
}

func validLonLat(p Position) bool {
	return finite(p.Lon) && p.Lon >= -180 && p.Lon <= 180 && finite(p.Lat) && p.Lat >= -90 && p.Lat <= 90
}

// ringArea returns twice the signed area of r in square degrees (shoelace):
// zero when its positions are all on one line.
func ringArea(r Ring) float64 {
	a := 0.0
	for i := 0; i+1 < len(r); i++ {
		a += (r[i].Lon-r[0].Lon)*(r[i+1].Lat-r[0].Lat) - (r[i+1].Lon-r[0].Lon)*(r[i].Lat-r[0].Lat)
	}
	return a
}

func validPosition(field string, p Position) error {
	if !finite(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		return fieldError(field, "longitude (first) must be a finite number in [-180, 180], got %v", p.Lon)
	}
	if !finite(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return fieldError(field, "latitude (second) must be a finite number in [-90, 90], got %v", p.Lat)
	}
	return nil
}

func (s *Schedule) validate(field string) error {
	for i, d := range s.Days {
		if d < time.Sunday || d > time.Saturday {
			return fieldError(fmt.Sprintf("%s.days[%d]", field, i), "must be a day of the week")
		}
	}
	if s.From < 0 || s.From >= 1440 {
		return fieldError(field+".from", `must be "HH:MM" from 00:00 to 23:59`)
	}
	if s.To < 0 || s.To > 1440 {
		return fieldError(field+".to", `must be "HH:MM" from 00:00 to 24:00`)
	}
	if s.From == s.To && s.From != 0 {
		return fieldError(field+".to", "must differ from from (for all day, give neither, or 00:00 to 24:00)")
	}
	if len(s.TZ) > maxScheduleTZ || s.TZ == "Local" {
		return fieldError(field+".tz", "must be an IANA time zone name such as Europe/Paris")
	}
	loc, err := loadLocation(s.TZ)
	if err != nil {
		return fieldError(field+".tz", "unknown time zone %q (an IANA name such as Europe/Paris)", clip(s.TZ, 64))
	}
	s.loc = loc
	return nil
}

// fieldError reports a problem with one field, as the rest of the platform
// does (tracking.Position.Validate).
func fieldError(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
