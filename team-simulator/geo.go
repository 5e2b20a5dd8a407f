package simulator

import (
	"math"

	tracking "github.com/teamtrack/tracking-core"
)

// earthRadius is the mean radius of the WGS84 ellipsoid in metres; a sphere is
// precise enough for a simulation.
const earthRadius = 6371008.8

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
)

// distance returns the great-circle distance from a to b in metres (haversine).
func distance(a, b tracking.Location) float64 {
	φ1, φ2 := a.Latitude*deg2rad, b.Latitude*deg2rad
	dφ := φ2 - φ1
	dλ := (b.Longitude - a.Longitude) * deg2rad
	s := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(clamp(s, 0, 1)))
}

// bearing returns the initial great-circle bearing from a to b in degrees,
// clockwise from north, in [0, 360).
func bearing(a, b tracking.Location) float64 {
	φ1, φ2 := a.Latitude*deg2rad, b.Latitude*deg2rad
	dλ := (b.Longitude - a.Longitude) * deg2rad
	y := math.Sin(dλ) * math.Cos(φ2)
	x := math.Cos(φ1)*math.Sin(φ2) - math.Sin(φ1)*math.Cos(φ2)*math.Cos(dλ)
	return normalizeHeading(math.Atan2(y, x) * rad2deg)
}

// destination returns the point d metres from p along the great circle that
// leaves p at bearing brg (degrees). The result is always a valid coordinate:
// crossing a pole or the antimeridian wraps rather than leaving the range.
func destination(p tracking.Location, brg, d float64) tracking.Location {
	φ1, λ1 := p.Latitude*deg2rad, p.Longitude*deg2rad
	θ := brg * deg2rad
	δ := d / earthRadius
	sinφ2 := math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ)
	φ2 := math.Asin(clamp(sinφ2, -1, 1)) // rounding can push the sine past ±1 near a pole
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*sinφ2)
	return normalizeLocation(tracking.Location{Latitude: φ2 * rad2deg, Longitude: λ2 * rad2deg}, p)
}

// normalizeLocation clamps the latitude to [-90, 90] and wraps the longitude
// into [-180, 180). A non-finite result (which the formulas above should never
// produce) falls back to prev so that an invalid coordinate is never sent.
func normalizeLocation(l, prev tracking.Location) tracking.Location {
	if !isFinite(l.Latitude) || !isFinite(l.Longitude) {
		return prev
	}
	return tracking.Location{Latitude: clamp(l.Latitude, -90, 90), Longitude: wrapLongitude(l.Longitude)}
}

// wrapLongitude maps any finite longitude into [-180, 180).
func wrapLongitude(lon float64) float64 {
	lon = math.Mod(lon+180, 360)
	if lon < 0 {
		lon += 360
	}
	return lon - 180
}

// normalizeHeading maps any finite angle in degrees into [0, 360).
func normalizeHeading(h float64) float64 {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	if h >= 360 { // -tiny + 360 rounds to 360
		h = 0
	}
	return h
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
