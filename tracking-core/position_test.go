package tracking_test

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The decoder's tests (wire) cover validation through records; these check
// the domain's rules on a Position directly.
func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)
	neg := -1.0
	valid := func() tracking.Position {
		return tracking.Position{ID: "a-1", WorkerID: "w1", Team: "t_1", Location: tracking.Location{Latitude: 90, Longitude: -180}, TimeStamp: now.Add(tracking.MaxFutureSkew)}
	}
	if p := valid(); p.Validate(now) != nil {
		t.Fatalf("valid position rejected: %v", p.Validate(now))
	}
	for field, mut := range map[string]func(p *tracking.Position){
		"id":                 func(p *tracking.Position) { p.ID = strings.Repeat("i", 129) },
		"workerId":           func(p *tracking.Position) { p.WorkerID = "w 1" },
		"team":               func(p *tracking.Position) { p.Team = "" },
		"location.latitude":  func(p *tracking.Position) { p.Location.Latitude = 90.5 },
		"location.longitude": func(p *tracking.Position) { p.Location.Longitude = -180.5 },
		"timeStamp":          func(p *tracking.Position) { p.TimeStamp = now.Add(tracking.MaxFutureSkew + time.Second) },
		"speed":              func(p *tracking.Position) { p.Speed = &neg },
	} {
		p := valid()
		mut(&p)
		err := p.Validate(now)
		var e *tracking.Error
		if !asError(err, &e) || e.Code != tracking.CodeInvalidField || e.Field != field {
			t.Errorf("%s: %v, want an invalid_field error naming it", field, err)
		}
	}
}

// Battery is a percentage: [0, 100], finite; absent is fine.
func TestValidateBattery(t *testing.T) {
	now := time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		battery *float64
		ok      bool
	}{
		{nil, true}, {f(0), true}, {f(100), true}, {f(57.5), true}, {f(math.Copysign(0, -1)), true},
		{f(-1), false}, {f(-0.001), false}, {f(100.0001), false}, {f(101), false},
		{f(math.NaN()), false}, {f(math.Inf(1)), false}, {f(math.Inf(-1)), false},
	} {
		p := tracking.Position{ID: "a-1", WorkerID: "w1", Team: "t_1", TimeStamp: now, Battery: c.battery}
		err := p.Validate(now)
		if c.ok {
			if err != nil {
				t.Errorf("battery %v rejected: %v", *c.battery, err)
			}
			continue
		}
		var e *tracking.Error
		if !asError(err, &e) || e.Code != tracking.CodeInvalidField || e.Field != "battery" || !strings.Contains(e.Error(), "battery") {
			t.Errorf("battery %v: %v, want an invalid_field error naming battery", *c.battery, err)
		}
	}
}

func f(v float64) *float64 { return &v }

func asError(err error, target **tracking.Error) bool {
	e, ok := err.(*tracking.Error)
	*target = e
	return ok
}

func TestNewIDIsUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if a, b := tracking.NewID(), tracking.NewID(); !re.MatchString(a) || a == b {
		t.Fatalf("ids %s %s", a, b)
	}
}
