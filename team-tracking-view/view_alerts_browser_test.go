package view_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/httpapi"
)

// alertView is what the test hook says of the alerts panel and the
// statuses.
type alertView struct {
	Tab     string     `json:"tab"`
	Unseen  int        `json:"unseen"`
	Message string     `json:"message"`
	Alerts  []alertRow `json:"alerts"`
	// The alert rows, in the panel's order.
	Rows     []string          `json:"rows"`
	Markers  map[string]string `json:"markers"` // each marker's status class
	Presence map[string]struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"presence"`
	// The worker rows: data-status, data-reason, title.
	Workers map[string]struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		Title  string `json:"title"`
	} `json:"workers"`
}

const readAlerts = `(() => {
	const t = window.__tracking;
	if (!t) return null;
	const workers = {};
	for (const li of document.querySelectorAll("#workers li[data-worker-id]")) {
		workers[li.dataset.workerId] = {status: li.dataset.status || "", reason: li.dataset.reason || "", title: li.title};
	}
	return {tab: t.tab, unseen: t.alertsUnseen(), message: t.alertsMessage(), alerts: t.alerts(),
		rows: [...document.querySelectorAll("#alerts li[data-alert-id]")].map((li) => li.dataset.alertId),
		markers: t.markerStatuses(), presence: t.presence(), workers};
})()`

func waitAlerts(t *testing.T, ctx context.Context, what string, timeout time.Duration, ok func(*alertView) bool) *alertView {
	t.Helper()
	return waitHook(t, ctx, what, timeout, readAlerts, func(v *alertView) bool { return v != nil && ok(v) })
}

// TestBrowserAlertsAndStatus watches a real tracking replica with a
// geofence and short presence timeouts: a worker's presence status from
// the stream colours its marker and its row (online, then idle, then
// offline with the reason silent in the row's tooltip); its enter into the
// fence arrives on the stream as an alert in the panel (counted on the
// tab until the panel is shown) whose click centres the map on it; after a
// reload the alert comes from GET .../events, once, and the status from
// the snapshot.
func TestBrowserAlertsAndStatus(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startPlatform(t, platformOptions{alerts: true, api: func(c *httpapi.Config) {
		c.PresenceIdleAfter, c.PresenceOfflineAfter, c.PresenceSweep = 2*time.Second, 5*time.Second, 100*time.Millisecond
	}})
	fences := p.Redis.URL + "/tracking/team_one/geofences"
	if status, body := apiCall(t, http.MethodPut, fences+"/depot",
		fmt.Sprintf(`{"name":"Depot","geometry":{"type":"Point","coordinates":[%g,%g],"radius":200}}`, spLng, spLat)); status != http.StatusCreated {
		t.Fatalf("PUT the depot: %d %s", status, body)
	}
	// w2 is far away: the map must move to the alert's place when it is clicked.
	at := func(id, worker string, lat, lng float64) tracking.Position {
		return tracking.Position{ID: id, WorkerID: worker, Team: "team_one", Location: tracking.Location{Latitude: lat, Longitude: lng}, TimeStamp: time.Now().UTC()}
	}
	p.publish(t, []tracking.Position{at("w2.0", "w2", spLat+0.05, spLng+0.05)})

	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitAlerts(t, ctx, "w2 on the map, no alert", 10*time.Second, func(v *alertView) bool {
		return v.Markers["w2"] != "" && len(v.Alerts) == 0 && v.Message == ""
	})

	// w1 outside the depot, then inside: online, and an enter.
	p.publish(t, []tracking.Position{at("w1.0", "w1", spLat+0.01, spLng)})
	online := waitAlerts(t, ctx, "w1 online", 5*time.Second, func(v *alertView) bool {
		return v.Presence["w1"].Status == "online" && v.Markers["w1"] == "online" && v.Workers["w1"].Status == "online"
	})
	if w := online.Workers["w1"]; w.Reason != "" || !strings.Contains(w.Title, "online") {
		t.Errorf("w1's row while online: %+v", w)
	}
	p.publish(t, []tracking.Position{at("w1.1", "w1", spLat, spLng)})
	entered := waitAlerts(t, ctx, "the enter alert", 5*time.Second, func(v *alertView) bool { return len(v.Alerts) == 1 })
	a := entered.Alerts[0]
	if a.Kind != "enter" || a.WorkerID != "w1" || a.Name != "Depot" || a.Text != "w1 entered Depot" || entered.Unseen != 1 || entered.Tab != "workers" {
		t.Errorf("after the enter: %+v (unseen %d, tab %s)", a, entered.Unseen, entered.Tab)
	}
	if got := evaluate[string](t, ctx, `document.getElementById("alerts-unseen").hidden ? "" : document.getElementById("alerts-unseen").textContent`); got != "1" {
		t.Errorf("the alerts tab counts %q unseen, want 1", got)
	}
	click(t, ctx, "tab-alerts")
	waitAlerts(t, ctx, "the alerts seen", 5*time.Second, func(v *alertView) bool { return v.Tab == "alerts" && v.Unseen == 0 })
	// Its click centres the map on where it happened.
	evaluate[any](t, ctx, fmt.Sprintf(`document.querySelector('#alerts li[data-alert-id="%s"]').click()`, a.ID))
	waitMapStill(t, ctx)
	if v := evaluate[struct{ Zoom, Lat, Lng float64 }](t, ctx, `window.__tracking.mapView()`); v.Zoom < 16 || math.Abs(v.Lat-spLat) > 1e-4 || math.Abs(v.Lng-spLng) > 1e-4 {
		t.Errorf("after a click on the alert the map shows %+v, want the depot (%g, %g) at zoom 16 or more", v, spLat, spLng)
	}
	screenshot(t, ctx, "alerts")

	// Silent: idle after 2 s, offline (silent) after 5 s.
	waitAlerts(t, ctx, "w1 idle", 5*time.Second, func(v *alertView) bool {
		return v.Presence["w1"].Status == "idle" && v.Markers["w1"] == "idle" && v.Workers["w1"].Status == "idle"
	})
	offline := waitAlerts(t, ctx, "w1 offline", 8*time.Second, func(v *alertView) bool {
		return v.Presence["w1"].Status == "offline" && v.Markers["w1"] == "offline" && v.Workers["w1"].Status == "offline"
	})
	if w := offline.Workers["w1"]; w.Reason != "silent" || !strings.Contains(w.Title, "offline (silent) since") {
		t.Errorf("w1's row when offline: %+v, want the reason silent in its tooltip", w)
	}
	screenshot(t, ctx, "statuses")

	// A new page: the alert from /events (once), the statuses from the snapshot.
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	// Besides the enter alert, /events may hold settled presence alerts
	// (PRESENCE_ALERT_SETTLE after a worker went idle or offline): which of
	// them are stored by the reload depends on the machine's pace.
	reloaded := waitAlerts(t, ctx, "the alert and the statuses after a reload", 10*time.Second, func(v *alertView) bool {
		return countID(v.Alerts, a.ID) == 1 && v.Markers["w1"] == "offline" && v.Presence["w1"].Reason == "silent"
	})
	for _, al := range reloaded.Alerts {
		if al.ID != a.ID && al.Kind != "idle" && al.Kind != "offline" {
			t.Errorf("after a reload the panel shows %+v, want the enter alert %s and presence alerts only", reloaded.Alerts, a.ID)
		}
	}
	if n := countString(reloaded.Rows, a.ID); n != 1 || len(reloaded.Rows) != len(reloaded.Alerts) {
		t.Errorf("after a reload the rows are %v for alerts %+v, want one row per alert, the enter alert %s once", reloaded.Rows, reloaded.Alerts, a.ID)
	}
	if got := p.requests("/tracking/redis/team_one/events"); len(got) < 2 {
		t.Errorf("%d requests of /events, want one per page load at least", len(got))
	} else if q := got[len(got)-1]; q.Get("from") == "" || q.Get("to") == "" || q.Get("limit") == "" {
		t.Errorf("the events request's query %v lacks from, to or limit", q)
	}
}

// TestBrowserAlertsDeduplicated serves alerts from GET .../events and, each
// twice, on the stream (a fake): the panel shows each once, newest first.
func TestBrowserAlertsDeduplicated(t *testing.T) {
	now := time.Now().UTC()
	alert := func(id, kind, worker, extra string, ago time.Duration) string {
		return fmt.Sprintf(`{"id":"%s","kind":"%s","team":"team_one","workerId":"%s",%s"location":{"latitude":52.52,"longitude":13.405},"timeStamp":"%s"}`,
			id, kind, worker, extra, now.Add(-ago).Format(time.RFC3339Nano))
	}
	f := &fakeTracking{teams: map[string]int{"team_one": 3}, statuses: []string{
		`{"workerId":"team_one-w02","team":"team_one","status":"offline","reason":"disconnected","since":"` + now.Format(time.RFC3339Nano) + `"}`,
	}, alerts: []string{
		alert("a-old", "exit", "team_one-w01", `"fenceId":"depot","name":"Depot",`, 3*time.Minute),
		alert("a-new", "apart", "team_one-w02", `"ruleId":"pair","peerId":"team_one-w03","name":"Buddies",`, time.Minute),
		alert("a-mid", "dwell", "team_one-w03", `"fenceId":"yard","name":"Yard",`, 2*time.Minute),
	}}
	srv := f.serve(t)
	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitAlerts(t, ctx, "three alerts", 5*time.Second, func(v *alertView) bool { return len(v.Alerts) == 3 && v.Markers["team_one-w01"] != "" })
	time.Sleep(500 * time.Millisecond) // the stream's repeats have come too
	v := waitAlerts(t, ctx, "the alerts a moment later", time.Second, func(v *alertView) bool { return true })
	var ids, texts []string
	for _, a := range v.Alerts {
		ids, texts = append(ids, a.ID), append(texts, a.Text)
	}
	if strings.Join(ids, " ") != "a-new a-mid a-old" || strings.Join(v.Rows, " ") != "a-new a-mid a-old" {
		t.Errorf("alerts %v (rows %v), want a-new a-mid a-old", ids, v.Rows)
	}
	want := []string{"team_one-w02 is apart from team_one-w03 (Buddies)", "team_one-w03 is dwelling in Yard", "team_one-w01 left Depot"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("alert texts %q, want %q", texts, want)
	}
	// A status on the stream colours the marker: the fake says w02 is offline.
	v = waitAlerts(t, ctx, "w02 offline from the fake's status event", 5*time.Second, func(v *alertView) bool {
		return v.Markers["team_one-w02"] == "offline" && v.Workers["team_one-w02"].Reason == "disconnected"
	})
	if v.Markers["team_one-w01"] != "online" {
		t.Errorf("w01's marker is %q, want online", v.Markers["team_one-w01"])
	}
}

// alertRow is one alert as the test hook shows it.
type alertRow struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	WorkerID string `json:"workerId"`
	Name     string `json:"name"`
	Text     string `json:"text"`
	Time     string `json:"time"`
}

// countID counts the alerts with id.
func countID(alerts []alertRow, id string) int {
	n := 0
	for _, a := range alerts {
		if a.ID == id {
			n++
		}
	}
	return n
}

// countString counts s in ss.
func countString(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// holdFrames keeps the page's animation frames until
// window.__releaseFrames() is called: the map makes a worker's marker on
// an animation frame, while the panel renders on a timer.
const holdFrames = `(() => {
	const raf = window.requestAnimationFrame.bind(window);
	const held = [];
	let holding = true;
	window.requestAnimationFrame = (cb) => {
		if (holding) { held.push(cb); return 0; }
		return raf(cb);
	};
	window.__releaseFrames = () => { holding = false; for (const cb of held.splice(0)) raf(cb); };
})()`

// TestBrowserStatusBeforeMarker: a status the panel reports before the
// worker's marker is made is the marker's status when it is made. The
// panel reports a status once, when it changes; a reload in CI once had the
// snapshot's offline statuses in the rows and the markers, made a frame
// later, drawn online.
func TestBrowserStatusBeforeMarker(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startPlatform(t, platformOptions{alerts: true, api: func(c *httpapi.Config) {
		c.PresenceIdleAfter, c.PresenceOfflineAfter, c.PresenceSweep = 300*time.Millisecond, 800*time.Millisecond, 50*time.Millisecond
	}})
	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: holdFrames}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	p.publish(t, []tracking.Position{{ID: "w1.0", WorkerID: "w1", Team: "team_one",
		Location: tracking.Location{Latitude: spLat, Longitude: spLng}, TimeStamp: time.Now().UTC()}})
	waitAlerts(t, ctx, "w1 offline in its row before its marker is made", 10*time.Second, func(v *alertView) bool {
		return v.Workers["w1"].Status == "offline" && v.Presence["w1"].Status == "offline" && len(v.Markers) == 0
	})
	evaluate[any](t, ctx, `window.__releaseFrames()`)
	waitAlerts(t, ctx, "w1's marker made offline", 5*time.Second, func(v *alertView) bool { return v.Markers["w1"] != "" })
	if v := waitAlerts(t, ctx, "w1's marker", time.Second, func(*alertView) bool { return true }); v.Markers["w1"] != "offline" {
		t.Errorf("w1's marker is drawn %q, its row %q: want offline", v.Markers["w1"], v.Workers["w1"].Status)
	}
}
