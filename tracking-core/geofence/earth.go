package geofence

import "math"

// Distances are measured on the WGS84 ellipsoid through a local
// equirectangular projection: around a reference latitude φ0 one degree of
// latitude is M(φ0)·π/180 metres and one degree of longitude N(φ0)·cos φ·π/180
// metres, M and N being the ellipsoid's meridional and prime-vertical radii
// of curvature, with cos φ taken to first order at the mean latitude of the
// point and φ0. Each fence has its own frame, centred on its bounding box.
// Measured against Vincenty's geodesic (TestProjectionError), at latitudes
// up to 70°: the distance from a frame's centre is off by at most 3 mm at
// 2 km and 0.5 m at 25 km (the largest circle); between a point and a nearby
// edge, both up to 2 km from the centre, the error is at most 0.04% of that
// distance (4 cm at 100 m; 0.4% at 25 km), far below GPS noise. Longitudes
// are taken modulo 360° from the frame's centre, so a point across the
// antimeridian is far away rather than a crash (fences across it are
// rejected by Validate).

const (
	wgs84A  = 6378137.0             // semi-major axis, m
	wgs84F  = 1 / 298.257223563     // flattening
	wgs84E2 = wgs84F * (2 - wgs84F) // first eccentricity squared
	degRad  = math.Pi / 180         // radians per degree
	minKy   = 110574.0              // metres per degree of latitude at the equator (the smallest)
	maxKy   = 111694.0              // metres per degree of latitude at the poles (the largest)
	maxKx   = wgs84A * degRad       // metres per degree of longitude at the equator (the largest)
)

// frame is a local projection: degrees to metres around (lat0, lon0).
type frame struct {
	lat0, lon0 float64
	kx, ky     float64 // metres per degree of longitude and of latitude at lat0
	kxSlope    float64 // change of kx per degree of latitude, halved (see project)
}

// MetresPerDegree returns how many metres one degree of longitude and one
// degree of latitude span at latitude lat on the WGS84 ellipsoid (the
// longitude figure never below 1 mm, so that divisions stay finite at the
// poles).
func MetresPerDegree(lat float64) (lon, latitude float64) {
	s, c := math.Sincos(lat * degRad)
	w := 1 - wgs84E2*s*s
	n := wgs84A / math.Sqrt(w)                       // prime vertical radius
	m := wgs84A * (1 - wgs84E2) / (w * math.Sqrt(w)) // meridional radius
	return max(n*c*degRad, 1e-3), m * degRad
}

func newFrame(lat0, lon0 float64) frame {
	kx, ky := MetresPerDegree(lat0)
	// d(cos φ)/dφ = -sin φ: the east-west scale at the mean latitude of a
	// point and the centre, to first order.
	slope := kx * math.Tan(lat0*degRad) * degRad / 2
	if math.Abs(lat0) > 89 {
		slope = 0
	}
	return frame{lat0: lat0, lon0: lon0, kx: kx, ky: ky, kxSlope: slope}
}

// project returns the position of (lat, lon) in metres east and north of
// the frame's centre.
func (f *frame) project(lat, lon float64) (x, y float64) {
	dlon := lon - f.lon0
	if dlon > 180 {
		dlon -= 360
	} else if dlon < -180 {
		dlon += 360
	}
	dlat := lat - f.lat0
	return dlon * (f.kx - f.kxSlope*dlat), dlat * f.ky
}

// Distance returns the distance in metres between two WGS84 positions
// (degrees), through a local projection at their mean latitude: accurate to
// about 0.1% up to 50 km apart (TestDistanceError), meant for the distances
// between workers of a team and between a worker and a fence, not for
// continents.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	kx, ky := MetresPerDegree((lat1 + lat2) / 2)
	dlon := lon2 - lon1
	if dlon > 180 {
		dlon -= 360
	} else if dlon < -180 {
		dlon += 360
	}
	return math.Hypot(dlon*kx, (lat2-lat1)*ky)
}

// degreesFor returns how many degrees of latitude and of longitude d metres
// span at most around latitude lat: a generous box for pruning, never exact.
func degreesFor(d, lat float64) (dlat, dlon float64) {
	dlat = d / minKy
	c := math.Cos((math.Abs(lat) + dlat) * degRad)
	if c < 1e-6 || math.Abs(lat)+dlat >= 90 {
		return dlat, 360
	}
	dlon = d / (maxKx * c)
	if dlon > 360 {
		dlon = 360
	}
	return dlat, dlon
}
