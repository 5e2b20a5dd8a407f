package browsertest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
)

// PageState is what the view's test hook (window.__tracking) and its side
// panel say.
type PageState struct {
	Ready       bool              `json:"ready"` // false: no test hook (yet)
	Team        string            `json:"team"`
	Strategy    string            `json:"strategy"`
	Connected   bool              `json:"connected"`
	Connections int               `json:"connections"`
	Workers     int               `json:"workers"`
	Markers     int               `json:"markers"`
	CountText   string            `json:"countText"` // #worker-count
	Location    string            `json:"location"`  // the page URL
	Positions   map[string]LatLng `json:"positions"` // of the markers, by worker id
	TilesActive bool              `json:"tilesActive"`
	Notice      string            `json:"notice"`
	// Connection is the stream's state ("open", "unauthorized", ...), as
	// the connection indicator shows it with ConnectionText.
	Connection     string `json:"connection"`
	ConnectionText string `json:"connectionText"`
	AuthMode       string `json:"authMode"`
}

// LatLng is a marker's position.
type LatLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

const readState = `(() => {
	const t = window.__tracking;
	if (!t) return {ready: false, location: location.href};
	const count = document.getElementById("worker-count");
	const notice = document.getElementById("map-notice");
	return {
		ready: true,
		team: t.team,
		strategy: t.strategy,
		connected: t.connected,
		connections: t.connections(),
		workers: t.workerCount(),
		markers: t.markerCount(),
		countText: count ? count.textContent.trim() : "",
		location: location.href,
		positions: t.markerPositions(),
		tilesActive: t.tilesActive(),
		notice: notice && !notice.hidden ? notice.textContent.trim() : "",
		connection: t.connection,
		connectionText: t.connectionText,
		authMode: t.authMode,
	};
})()`

// complete: the team is shown, connected, with n workers in the state, on
// the map and in the panel.
func (s *PageState) complete(team string, n int) bool {
	return s.Ready && s.Team == team && s.Connected && s.Workers == n && s.Markers == n &&
		len(s.Positions) == n && s.CountText == strconv.Itoa(n)
}

func (s *PageState) String() string {
	if !s.Ready {
		return fmt.Sprintf("no window.__tracking at %s (page not loaded, or the view not built)", s.Location)
	}
	return fmt.Sprintf("team=%s strategy=%s connection=%s (%q) connections=%d workers=%d markers=%d #worker-count=%q",
		s.Team, s.Strategy, s.Connection, s.ConnectionText, s.Connections, s.Workers, s.Markers, s.CountText)
}

// WaitFor polls the page in ctx (a chromedp context, as NewPage gives)
// until ok holds or the deadline passes; the error then says what the page
// showed last.
func WaitFor(ctx context.Context, deadline time.Time, ok func(*PageState) bool) (*PageState, error) {
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[*PageState](readState))
		if err != nil {
			return nil, fmt.Errorf("read the page state: %w", err)
		}
		if ok(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("timed out; the page shows %s", s)
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("%w; the page shows %s", ctx.Err(), s)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ChooseTeam submits the page's team form with strategy and team.
func ChooseTeam(ctx context.Context, strategy, team string) error {
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("strategy"), strategy),
		chromedp.SetValue(chromedp.ID("team"), team),
		chromedp.Click(chromedp.CSS(`#watch-form button[type="submit"]`)),
	); err != nil {
		return fmt.Errorf("choose team %s/%s: %w", strategy, team, err)
	}
	return nil
}
