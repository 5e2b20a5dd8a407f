package geofence

import (
	"testing"
	"time"
)

func TestScheduleActive(t *testing.T) {
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	office := &Schedule{Days: weekdays, From: 7 * 60, To: 18*60 + 30, TZ: "Europe/Paris"}
	night := &Schedule{Days: []time.Weekday{time.Friday}, From: 22 * 60, To: 6 * 60, TZ: "America/Sao_Paulo"}
	allDay := &Schedule{Days: []time.Weekday{time.Sunday}}
	untilMidnight := &Schedule{From: 20 * 60, To: 1440}
	for _, s := range []*Schedule{office, night, allDay, untilMidnight} {
		if err := s.validate("schedule"); err != nil {
			t.Fatal(err)
		}
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		s    *Schedule
		at   string
		want bool
	}{
		{"nil: always", nil, "2026-11-23T03:00:00Z", true},
		{"office: Monday 06:59 Paris (05:59Z, winter)", office, "2026-11-23T05:59:00Z", false},
		{"office: Monday 07:00 Paris", office, "2026-11-23T06:00:00Z", true},
		{"office: Monday 18:29 Paris", office, "2026-11-23T17:29:59Z", true},
		{"office: Monday 18:30 Paris", office, "2026-11-23T17:30:00Z", false},
		{"office: summer time, 07:00 Paris is 05:00Z", office, "2026-07-06T05:00:00Z", true},
		{"office: Saturday noon", office, "2026-11-28T11:00:00Z", false},
		{"office: Sunday 23:30Z is Monday 00:30 Paris", office, "2026-11-22T23:30:00Z", false},
		{"night: Friday 21:59 São Paulo", night, "2026-11-28T00:59:00Z", false},
		{"night: Friday 22:00 São Paulo", night, "2026-11-28T01:00:00Z", true},
		{"night: Saturday 05:59 São Paulo (wrapped)", night, "2026-11-28T08:59:00Z", true},
		{"night: Saturday 06:00", night, "2026-11-28T09:00:00Z", false},
		{"night: Saturday 22:00 (not a start day)", night, "2026-11-29T01:00:00Z", false},
		{"night: Thursday 03:00 (Wednesday not a day)", night, "2026-11-26T06:00:00Z", false},
		{"all day Sunday 00:00", allDay, "2026-11-22T00:00:00Z", true},
		{"all day Sunday 23:59", allDay, "2026-11-22T23:59:59Z", true},
		{"all day: Monday", allDay, "2026-11-23T00:00:00Z", false},
		{"until 24:00: 23:59", untilMidnight, "2026-11-23T23:59:00Z", true},
		{"until 24:00: 00:00", untilMidnight, "2026-11-24T00:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Active(utc(tt.at)); got != tt.want {
				t.Fatalf("Active(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"00:00", 0, true}, {"07:30", 450, true}, {"23:59", 1439, true}, {"24:00", 1440, true},
		{"24:01", 0, false}, {"7:30", 0, false}, {"07:60", 0, false}, {"-1:00", 0, false},
		{"+1:00", 0, false}, {"07:+1", 0, false}, {"0730", 0, false}, {"", 0, false},
	} {
		got, ok := parseTimeOfDay(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseTimeOfDay(%q) = %d, %v", tc.in, got, ok)
		}
		if ok && got.String() != tc.in {
			t.Errorf("%q prints as %q", tc.in, got.String())
		}
	}
}
