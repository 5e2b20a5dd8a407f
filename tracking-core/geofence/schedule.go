package geofence

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Schedule says when a fence is active: on the given days, from From to To
// local time in TZ. A window with To before From wraps past midnight and
// belongs to the day it starts on (Fri 22:00-06:00 includes Saturday 03:00).
// No days means every day; From and To both zero (00:00-00:00 in JSON: both
// absent) means all day. Wire form:
//
//	{"days":["mon","tue","wed","thu","fri"],"from":"07:00","to":"18:30","tz":"Europe/Paris"}
type Schedule struct {
	Days []time.Weekday
	From TimeOfDay // inclusive
	To   TimeOfDay // exclusive; 24:00 is the end of the day
	TZ   string    // IANA time zone name; empty means UTC

	loc *time.Location // TZ, loaded once (by Validate or on first use)
}

// TimeOfDay is a local time of day in minutes since midnight, 0 to 1440
// (24:00). Its JSON form is "HH:MM".
type TimeOfDay int

// String returns "HH:MM".
func (t TimeOfDay) String() string {
	return string(t.appendText(make([]byte, 0, 5)))
}

func (t TimeOfDay) appendText(dst []byte) []byte {
	h, m := int(t)/60, int(t)%60
	return append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10))
}

// parseTimeOfDay parses "HH:MM", 00:00 to 24:00.
func parseTimeOfDay(s string) (TimeOfDay, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[3] == '+' || s[0] == '-' || s[3] == '-' ||
		h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, false
	}
	return TimeOfDay(h*60 + m), true
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseDay parses "mon".."sun" (any case).
func parseDay(s string) (time.Weekday, bool) {
	for d, n := range dayNames {
		if strings.EqualFold(s, n) {
			return time.Weekday(d), true
		}
	}
	return 0, false
}

// Active reports whether the schedule is active at t. A nil schedule is
// always active.
func (s *Schedule) Active(t time.Time) bool {
	if s == nil {
		return true
	}
	lt := t.In(s.location())
	h, m, _ := lt.Clock()
	now := TimeOfDay(h*60 + m)
	day := lt.Weekday()
	from, to := s.From, s.To
	if from == 0 && to == 0 {
		to = 1440
	}
	if from < to {
		return now >= from && now < to && s.onDay(day)
	}
	// Wraps past midnight: the evening of an active day or the early
	// morning after one.
	return now >= from && s.onDay(day) || now < to && s.onDay((day+6)%7)
}

func (s *Schedule) onDay(d time.Weekday) bool {
	if len(s.Days) == 0 {
		return true
	}
	for _, x := range s.Days {
		if x == d {
			return true
		}
	}
	return false
}

// location returns the schedule's time zone; an unknown name (which
// Validate rejects) falls back to UTC.
func (s *Schedule) location() *time.Location {
	if s.loc != nil {
		return s.loc
	}
	if loc, err := loadLocation(s.TZ); err == nil {
		return loc
	}
	return time.UTC
}

// zones caches time.LoadLocation, which reads the zone database each time:
// every fence of a team usually shares one or two zones.
var zones sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
