package browsertest

import (
	"cmp"
	"errors"
	"net/url"
	"time"
)

// Expectations say what the map must show, and how to look at it.
type Expectations struct {
	// Strategy and Team are opened first. Defaults: "redis", "team_one".
	Strategy string
	Team     string
	// Workers is how many workers the team has. The view must show exactly
	// this many (test hook, side panel and markers) within Timeout of the
	// page loading. Required.
	Workers int
	// MinMoving is how many markers must move within Timeout after they all
	// appeared. Default: half of Workers, at least 1.
	MinMoving int

	// SwitchTeam, if set, is chosen next through the page's team form (and
	// SwitchStrategy through its strategy picker; default: Strategy). The
	// view must then show SwitchWorkers workers whose ids are not the first
	// team's ids, and the page URL must name the new team.
	SwitchTeam     string
	SwitchStrategy string
	SwitchWorkers  int

	// AllowConsole, if set, accepts console errors it returns true for
	// (given as "error: text (url:line)"); any other console error or
	// uncaught exception fails the check. A 404 of GET /auth/config is
	// always accepted: a gateway without authentication has no such
	// endpoint, and the view then runs without tokens. So is a 501 of the
	// team's geofences or alert events: a service without HISTORY_DSN.
	AllowConsole func(msg string) bool

	// Query is added to the page URL. Default: tiles=none, because a test
	// machine may have no internet and a failed tile request is a console
	// error. Pass an empty non-nil url.Values to load the configured tiles.
	Query url.Values
	// Timeout bounds each wait (the first from when the page has loaded). Default: 10 s.
	Timeout time.Duration
	// Screenshot, if set, is the path of a PNG of the page, taken after the
	// first team's checks (or when a check fails, to show why).
	Screenshot string
	// FrameSample, if positive, measures animation frames for this long
	// after the first team's checks (Report.Frames). Nothing is asserted on
	// the timings: they depend on the machine.
	FrameSample time.Duration

	// ChromiumPath is the browser. Default: RequireChromium(t).
	ChromiumPath string
	// Logf receives progress messages. Default: t.Logf.
	Logf func(format string, args ...any)
}

func (e Expectations) withDefaults() (Expectations, error) {
	e.Strategy, e.Team = cmp.Or(e.Strategy, "redis"), cmp.Or(e.Team, "team_one")
	if e.Workers <= 0 {
		return e, errors.New("browsertest: Expectations.Workers must be positive")
	}
	if e.MinMoving == 0 {
		e.MinMoving = max(1, e.Workers/2)
	}
	if e.SwitchTeam != "" {
		e.SwitchStrategy = cmp.Or(e.SwitchStrategy, e.Strategy)
		if e.SwitchWorkers <= 0 {
			return e, errors.New("browsertest: Expectations.SwitchWorkers must be positive with SwitchTeam")
		}
	}
	if e.Query == nil {
		e.Query = url.Values{"tiles": {"none"}}
	}
	if e.Timeout <= 0 {
		e.Timeout = 10 * time.Second
	}
	return e, nil
}
