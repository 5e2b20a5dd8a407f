package geofence

import (
	"math"
	"testing"
	"time"
)

// São Paulo: the record example of the contract.
const baseLat, baseLon = -23.55052, -46.633308

// at returns the position east and north metres from (lat, lon).
func at(lat, lon, east, north float64) (float64, float64) {
	f := newFrame(lat, lon)
	// Invert the frame's projection (a fixed point of project, to well
	// under a millimetre at these distances).
	la := lat + north/f.ky
	lo := lon + east/(f.kx-f.kxSlope*(la-lat))
	return la, lo
}

// square returns a closed square ring of the given side (m) centred east
// and north metres from the base.
func square(east, north, side float64) Ring {
	h := side / 2
	var r Ring
	for _, c := range [][2]float64{{-h, -h}, {h, -h}, {h, h}, {-h, h}, {-h, -h}} {
		la, lo := at(baseLat, baseLon, east+c[0], north+c[1])
		r = append(r, Position{Lon: lo, Lat: la})
	}
	return r
}

func circleFence(id string, east, north, radius float64) Fence {
	la, lo := at(baseLat, baseLon, east, north)
	return Fence{ID: id, Team: "team_one", Name: "Circle " + id,
		Geometry: Geometry{Type: Circle, Center: Position{Lon: lo, Lat: la}, Radius: radius}}
}

func squareFence(id string, east, north, side float64) Fence {
	return Fence{ID: id, Team: "team_one", Name: "Square " + id,
		Geometry: Geometry{Type: Polygon, Polygons: []Rings{{square(east, north, side)}}}}
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

func fixAt(east, north, acc float64, t time.Time) Fix {
	la, lo := at(baseLat, baseLon, east, north)
	return Fix{Team: "team_one", Worker: "w-17", Lat: la, Lon: lo, Accuracy: acc, Time: t}
}

func newEval(t testing.TB, cfg Config) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func kinds(evs []Event) string {
	s := ""
	for i, e := range evs {
		if i > 0 {
			s += ","
		}
		s += string(e.Kind) + ":" + e.FenceID + e.RuleID
	}
	return s
}

// vincenty returns the WGS84 geodesic distance (m) between two positions:
// the reference the projection is measured against.
func vincenty(lat1, lon1, lat2, lon2 float64) float64 {
	a, f := wgs84A, wgs84F
	b := a * (1 - f)
	L := (lon2 - lon1) * degRad
	U1 := math.Atan((1 - f) * math.Tan(lat1*degRad))
	U2 := math.Atan((1 - f) * math.Tan(lat2*degRad))
	sinU1, cosU1 := math.Sincos(U1)
	sinU2, cosU2 := math.Sincos(U2)
	lambda := L
	var sinSigma, cosSigma, sigma, cos2Alpha, cos2SigmaM float64
	for range 200 {
		sinL, cosL := math.Sincos(lambda)
		sinSigma = math.Hypot(cosU2*sinL, cosU1*sinU2-sinU1*cosU2*cosL)
		if sinSigma == 0 {
			return 0
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosL
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinL / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		cos2SigmaM = 0
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		C := f / 16 * cos2Alpha * (4 + f*(4-3*cos2Alpha))
		prev := lambda
		lambda = L + (1-C)*f*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-13 {
			break
		}
	}
	u2 := cos2Alpha * (a*a - b*b) / (b * b)
	A := 1 + u2/16384*(4096+u2*(-768+u2*(320-175*u2)))
	B := u2 / 1024 * (256 + u2*(-128+u2*(74-47*u2)))
	dSigma := B * sinSigma * (cos2SigmaM + B/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-
		B/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
	return b * A * (sigma - dSigma)
}

func timeSecond(n int) time.Duration { return time.Duration(n) * time.Second }
