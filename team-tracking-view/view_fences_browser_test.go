package view_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
	tracking "github.com/teamtrack/tracking-core"
)

// fenceView is what the test hook says of the fences and their editor.
type fenceView struct {
	Mode     string `json:"mode"`
	Drawing  string `json:"drawing"`
	Selected string `json:"selected"`
	Busy     bool   `json:"busy"`
	Error    string `json:"error"`
	Field    string `json:"field"`
	Hint     string `json:"hint"`
	Fences   []struct {
		ID     string               `json:"id"`
		Name   string               `json:"name"`
		Type   string               `json:"type"`
		Dwell  string               `json:"dwell"`
		Points []browsertest.LatLng `json:"points"`
		Radius float64              `json:"radius"`
	} `json:"fences"`
}

// editShape is the shape in the fence form (the test hook's fenceEditShape).
type editShape struct {
	Points []browsertest.LatLng `json:"points"`
	Radius float64              `json:"radius"`
}

// apiFence is a fence as GET /tracking/{team}/geofences/{id} gives it.
type apiFence struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Dwell    string `json:"dwell"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
		Radius      float64         `json:"radius"`
	} `json:"geometry"`
	Schedule json.RawMessage `json:"schedule"`
}

// The team's place in these tests: São Paulo.
const spLat, spLng = -23.55, -46.63

// TestBrowserFences draws, edits and deletes geofences through the view's
// editor against a real tracking replica with an alerting store, and finds
// each change in the geofences API: a fence made beforehand (with a
// schedule) is listed at load; a circle drawn with the mouse is refused
// with the server's message while its dwell is not a duration (the field
// marked), then saved; a polygon drawn corner by corner is saved; a corner
// of it dragged and the fence renamed is saved with PUT, its schedule
// kept; the circle is deleted (after the confirmation).
func TestBrowserFences(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startPlatform(t, platformOptions{alerts: true})
	fences := p.Redis.URL + "/tracking/team_one/geofences"

	// A fence made beforehand, with a schedule the view does not edit.
	const scheduled = `{"name":"Night shift","dwell":"90s",
		"geometry":{"type":"Polygon","coordinates":[[[-46.6200,-23.5450],[-46.6190,-23.5450],[-46.6190,-23.5440],[-46.6200,-23.5440],[-46.6200,-23.5450]]]},
		"schedule":{"days":["mon","tue"],"from":"22:00","to":"06:00","tz":"America/Sao_Paulo"}}`
	if status, body := apiCall(t, http.MethodPut, fences+"/night", scheduled); status != http.StatusCreated {
		t.Fatalf("PUT the night fence: %d %s", status, body)
	}
	// One worker, so that the map zooms to the place.
	p.publish(t, []tracking.Position{{ID: "w1.0", WorkerID: "w1", Team: "team_one",
		Location: tracking.Location{Latitude: spLat, Longitude: spLng}, TimeStamp: time.Now().UTC()}})

	ctx := browsertest.NewPage(t)
	// The browser logs the refusal of the bad dwell (400) itself.
	checkConsole(t, ctx, func(m string) bool { return strings.Contains(m, "status of 400") && strings.Contains(m, "/geofences") })
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitFences(t, ctx, "the fence made beforehand", 10*time.Second, func(f *fenceView) bool {
		return len(f.Fences) == 1 && f.Fences[0].ID == "night" && f.Fences[0].Name == "Night shift" && f.Fences[0].Dwell == "1m30s" // the server's form of 90s
	})
	// The map zoomed to the worker (a single point: zoom 16).
	waitMapZoom(t, ctx, 16)
	click(t, ctx, "tab-fences")
	if got := evaluate[string](t, ctx, `document.querySelector('#fences li[data-fence-id="night"]').textContent`); !strings.Contains(got, "Night shift") || !strings.Contains(got, "scheduled") {
		t.Errorf("the night fence's row says %q, want its name and that it is scheduled", got)
	}

	box := evaluate[struct{ X, Y, W, H float64 }](t, ctx, `(() => { const r = document.getElementById("map").getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; })()`)
	cx, cy := box.X+box.W/2, box.Y+box.H/2

	// A circle: its centre, then its edge 60 px to the right.
	click(t, ctx, "fence-draw-circle")
	waitFences(t, ctx, "drawing a circle", 5*time.Second, func(f *fenceView) bool { return f.Mode == "drawing" && f.Drawing == "Circle" })
	mouseClick(t, ctx, cx-200, cy-100)
	mouseMove(t, ctx, cx-170, cy-100)
	mouseMove(t, ctx, cx-140, cy-100)
	mouseClick(t, ctx, cx-140, cy-100)
	waitFences(t, ctx, "the new circle's form", 5*time.Second, func(f *fenceView) bool { return f.Mode == "new" })
	drawn := evaluate[*editShape](t, ctx, `window.__tracking.fenceEditShape()`)
	if drawn == nil || len(drawn.Points) != 1 || drawn.Radius <= 0 {
		t.Fatalf("the drawn circle is %+v", drawn)
	}
	if at := pagePoint(t, ctx, drawn.Points[0]); math.Abs(at.X-(cx-200)) > 2 || math.Abs(at.Y-(cy-100)) > 2 {
		t.Errorf("the circle's centre is drawn at (%.0f, %.0f), clicked at (%.0f, %.0f)", at.X, at.Y, cx-200, cy-100)
	}
	edge := pagePoint(t, ctx, browsertest.LatLng{Lat: drawn.Points[0].Lat, Lng: drawn.Points[0].Lng + metresToLng(drawn.Radius, drawn.Points[0].Lat)})
	if d := edge.X - (cx - 200); math.Abs(d-60) > 3 {
		t.Errorf("the circle's radius is %.1f m, %.1f px on the map; clicked 60 px from the centre", drawn.Radius, d)
	}

	// A dwell that is not a duration: the server's 400 names the field.
	setValue(t, ctx, "fence-name", "Depot")
	setValue(t, ctx, "fence-dwell", "5 minutes")
	click(t, ctx, "fence-save")
	refused := waitFences(t, ctx, "the refusal of the dwell", 5*time.Second, func(f *fenceView) bool { return f.Error != "" && !f.Busy })
	if refused.Field != "dwell" || !strings.HasPrefix(refused.Error, "dwell: ") || refused.Mode != "new" {
		t.Errorf("refused: field %q, error %q, mode %q; want the server's dwell message, the form still open", refused.Field, refused.Error, refused.Mode)
	}
	if got := evaluate[string](t, ctx, `document.getElementById("fence-dwell").getAttribute("aria-invalid") + " " + !document.getElementById("fence-error").hidden`); got != "true true" {
		t.Errorf("dwell input aria-invalid and error shown: %q, want both", got)
	}
	screenshot(t, ctx, "fence-refused")
	setValue(t, ctx, "fence-dwell", "5m")
	click(t, ctx, "fence-save")
	saved := waitFences(t, ctx, "the circle saved", 5*time.Second, func(f *fenceView) bool { return f.Mode == "idle" && len(f.Fences) == 2 })
	var circleID string
	for _, f := range saved.Fences {
		if f.Name == "Depot" {
			circleID = f.ID
		}
	}
	circle := getFence(t, fences, circleID)
	var centre [2]float64
	if err := json.Unmarshal(circle.Geometry.Coordinates, &centre); err != nil || circle.Geometry.Type != "Point" ||
		circle.Dwell != "5m" || math.Abs(circle.Geometry.Radius-drawn.Radius) > 0.1 ||
		math.Abs(centre[0]-drawn.Points[0].Lng) > 1e-6 || math.Abs(centre[1]-drawn.Points[0].Lat) > 1e-6 {
		t.Errorf("the API has the circle as %+v (centre %v), drawn %+v", circle, centre, drawn)
	}

	// A polygon: four corners, then the first again.
	corners := [][2]float64{{cx + 40, cy - 120}, {cx + 160, cy - 120}, {cx + 160, cy}, {cx + 40, cy}}
	click(t, ctx, "fence-draw-polygon")
	waitFences(t, ctx, "drawing a polygon", 5*time.Second, func(f *fenceView) bool { return f.Mode == "drawing" && f.Drawing == "Polygon" })
	for _, c := range append(corners, corners[0]) {
		mouseMove(t, ctx, c[0], c[1])
		mouseClick(t, ctx, c[0], c[1])
		time.Sleep(50 * time.Millisecond)
	}
	waitFences(t, ctx, "the new polygon's form", 5*time.Second, func(f *fenceView) bool { return f.Mode == "new" })
	setValue(t, ctx, "fence-name", "Yard")
	click(t, ctx, "fence-save")
	saved = waitFences(t, ctx, "the polygon saved", 5*time.Second, func(f *fenceView) bool { return f.Mode == "idle" && len(f.Fences) == 3 })
	var yard string
	for _, f := range saved.Fences {
		if f.Name == "Yard" {
			yard = f.ID
		}
	}
	ring := polygonRing(t, getFence(t, fences, yard))
	if len(ring) != 5 || ring[0] != ring[4] {
		t.Fatalf("the API has the polygon's ring as %v, want 4 corners, closed", ring)
	}
	for i, c := range corners {
		at := pagePoint(t, ctx, browsertest.LatLng{Lat: ring[i][1], Lng: ring[i][0]})
		if math.Abs(at.X-c[0]) > 2 || math.Abs(at.Y-c[1]) > 2 {
			t.Errorf("corner %d is at (%.0f, %.0f) on the page, clicked at (%.0f, %.0f)", i, at.X, at.Y, c[0], c[1])
		}
	}

	// Edit it: drag its first corner 50 px left and 30 px up, rename it.
	// (Picked in the list, the map zooms to it.)
	evaluate[any](t, ctx, fmt.Sprintf(`document.querySelector('#fences li[data-fence-id="%s"]').click()`, yard))
	waitFences(t, ctx, "the polygon's form", 5*time.Second, func(f *fenceView) bool { return f.Mode == "edit" && f.Selected == yard })
	waitMapStill(t, ctx)
	shape := evaluate[*editShape](t, ctx, `window.__tracking.fenceEditShape()`)
	from := pagePoint(t, ctx, shape.Points[0])
	to := struct{ X, Y float64 }{from.X - 50, from.Y - 30}
	drag(t, ctx, from.X, from.Y, to.X, to.Y)
	setValue(t, ctx, "fence-name", "Yard east")
	click(t, ctx, "fence-save")
	waitFences(t, ctx, "the polygon changed", 5*time.Second, func(f *fenceView) bool {
		for _, g := range f.Fences {
			if g.ID == yard {
				return f.Mode == "idle" && g.Name == "Yard east"
			}
		}
		return false
	})
	edited := getFence(t, fences, yard)
	ring = polygonRing(t, edited)
	if edited.Name != "Yard east" || len(ring) != 5 {
		t.Fatalf("the API has the edited polygon as %+v", edited)
	}
	// The dragged corner is where it was dropped; the others stayed.
	moved := pagePoint(t, ctx, browsertest.LatLng{Lat: ring[0][1], Lng: ring[0][0]})
	if math.Abs(moved.X-to.X) > 3 || math.Abs(moved.Y-to.Y) > 3 {
		t.Errorf("the dragged corner is at (%.0f, %.0f), dropped at (%.0f, %.0f)", moved.X, moved.Y, to.X, to.Y)
	}
	for i := 1; i < 4; i++ {
		if p := shape.Points[i]; math.Abs(ring[i][0]-p.Lng) > 1e-6 || math.Abs(ring[i][1]-p.Lat) > 1e-6 {
			t.Errorf("corner %d moved to %v, it was at %+v", i, ring[i], p)
		}
	}

	// The scheduled fence renamed: its schedule is sent back as it was.
	evaluate[any](t, ctx, `document.querySelector('#fences li[data-fence-id="night"]').click()`)
	waitFences(t, ctx, "the night fence's form", 5*time.Second, func(f *fenceView) bool { return f.Mode == "edit" && f.Selected == "night" })
	if got := evaluate[string](t, ctx, `document.getElementById("fence-schedule").textContent`); !strings.Contains(got, "22:00-06:00 America/Sao_Paulo") {
		t.Errorf("the form shows the schedule as %q", got)
	}
	setValue(t, ctx, "fence-name", "Night shift B")
	click(t, ctx, "fence-save")
	waitFences(t, ctx, "the night fence renamed", 5*time.Second, func(f *fenceView) bool { return f.Mode == "idle" })
	if night := getFence(t, fences, "night"); night.Name != "Night shift B" || night.Dwell != "1m30s" ||
		!strings.Contains(string(night.Schedule), `"from":"22:00","to":"06:00","tz":"America/Sao_Paulo"`) {
		t.Errorf("the API has the night fence as %+v (schedule %s)", night, night.Schedule)
	}

	// Delete the circle: the first click asks, the second deletes.
	evaluate[any](t, ctx, fmt.Sprintf(`document.querySelector('#fences li[data-fence-id="%s"]').click()`, circleID))
	waitFences(t, ctx, "the circle's form", 5*time.Second, func(f *fenceView) bool { return f.Mode == "edit" && f.Selected == circleID })
	click(t, ctx, "fence-delete")
	if got := evaluate[string](t, ctx, `document.getElementById("fence-delete").textContent`); !strings.Contains(got, "Really delete Depot") {
		t.Errorf("after one click Delete says %q, want it to ask", got)
	}
	if status, _ := apiCall(t, http.MethodGet, fences+"/"+circleID, ""); status != http.StatusOK {
		t.Errorf("the circle is gone after one click of Delete: %d", status)
	}
	click(t, ctx, "fence-delete")
	waitFences(t, ctx, "the circle deleted", 5*time.Second, func(f *fenceView) bool { return f.Mode == "idle" && len(f.Fences) == 2 })
	if status, body := apiCall(t, http.MethodGet, fences+"/"+circleID, ""); status != http.StatusNotFound {
		t.Errorf("GET the deleted circle: %d %s, want 404", status, body)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll("#fences li").length`); n != 2 {
		t.Errorf("%d fences listed after the delete, want 2", n)
	}

	// Escape leaves drawing.
	click(t, ctx, "fence-draw-polygon")
	waitFences(t, ctx, "drawing again", 5*time.Second, func(f *fenceView) bool { return f.Mode == "drawing" })
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\u001b")); err != nil {
		t.Fatal(err)
	}
	waitFences(t, ctx, "drawing cancelled by Escape", 5*time.Second, func(f *fenceView) bool { return f.Mode == "idle" })
	screenshot(t, ctx, "fences")
}

// checkConsole fails the test, at its end, on console errors of the page
// in ctx that allow does not accept (nil: none is accepted).
func checkConsole(t *testing.T, ctx context.Context, allow func(string) bool) {
	t.Helper()
	stop := browsertest.CollectConsole(ctx)
	t.Cleanup(func() {
		msgs := stop()
		for _, m := range msgs {
			t.Logf("browser console: %s", m)
		}
		if err := browsertest.ConsoleErrors(msgs, allow); err != nil {
			t.Error(err)
		}
	})
}

func waitFences(t *testing.T, ctx context.Context, what string, timeout time.Duration, ok func(*fenceView) bool) *fenceView {
	t.Helper()
	return waitHook(t, ctx, what, timeout, `window.__tracking ? window.__tracking.fences() : null`, ok)
}

// waitHook polls expr in the page until ok holds of its value.
func waitHook[T any](t *testing.T, ctx context.Context, what string, timeout time.Duration, expr string, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := evaluate[T](t, ctx, expr)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(v)
			t.Fatalf("timed out after %v waiting for %s; the page shows %.2000s", timeout, what, b)
		}
		time.Sleep(50 * time.Millisecond) // polling the page: it does not signal
	}
}

func waitMapZoom(t *testing.T, ctx context.Context, zoom float64) {
	t.Helper()
	waitHook(t, ctx, fmt.Sprintf("the map at zoom %v", zoom), 10*time.Second, `window.__tracking ? window.__tracking.mapView().zoom : 0`,
		func(z float64) bool { return z == zoom })
	time.Sleep(300 * time.Millisecond) // the zoom animation's end
}

// waitMapStill waits until the map's view stays the same for 300 ms (an
// animated zoom or pan has ended).
func waitMapStill(t *testing.T, ctx context.Context) {
	t.Helper()
	type view struct{ Zoom, Lat, Lng float64 }
	last := evaluate[view](t, ctx, `window.__tracking.mapView()`)
	deadline := time.Now().Add(5 * time.Second)
	for still := 0; still < 6; {
		time.Sleep(50 * time.Millisecond)
		v := evaluate[view](t, ctx, `window.__tracking.mapView()`)
		if v == last {
			still++
		} else {
			still, last = 0, v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the map keeps moving: %+v", v)
		}
	}
}

// pagePoint is where a place is on the page, in CSS pixels.
func pagePoint(t *testing.T, ctx context.Context, p browsertest.LatLng) struct{ X, Y float64 } {
	t.Helper()
	return evaluate[struct{ X, Y float64 }](t, ctx, fmt.Sprintf(`window.__tracking.pagePoint(%g, %g)`, p.Lat, p.Lng))
}

func metresToLng(m, lat float64) float64 {
	return m / (111_319.49 * math.Cos(lat*math.Pi/180))
}

func mouseMove(t *testing.T, ctx context.Context, x, y float64, opts ...chromedp.MouseOption) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, x, y, opts...)); err != nil {
		t.Fatalf("mouse move to (%.0f, %.0f): %v", x, y, err)
	}
}

func mouseClick(t *testing.T, ctx context.Context, x, y float64) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatalf("click at (%.0f, %.0f): %v", x, y, err)
	}
}

// drag presses the left button at (x0, y0), moves to (x1, y1) in steps and releases it there.
func drag(t *testing.T, ctx context.Context, x0, y0, x1, y1 float64) {
	t.Helper()
	held := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	mouseMove(t, ctx, x0, y0)
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1))); err != nil {
		t.Fatal(err)
	}
	const steps = 10
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		mouseMove(t, ctx, x0+(x1-x0)*f, y0+(y1-y0)*f, held)
		time.Sleep(20 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1))); err != nil {
		t.Fatal(err)
	}
}

// apiCall sends a request to the tracking API with a JSON body ("" for none).
func apiCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, bytes.TrimSpace(b)
}

func getFence(t *testing.T, fences, id string) apiFence {
	t.Helper()
	status, body := apiCall(t, http.MethodGet, fences+"/"+id, "")
	var f apiFence
	if status != http.StatusOK || json.Unmarshal(body, &f) != nil {
		t.Fatalf("GET fence %q: %d %s", id, status, body)
	}
	return f
}

// polygonRing is the outer ring of a Polygon fence, [lon, lat] each.
func polygonRing(t *testing.T, f apiFence) [][2]float64 {
	t.Helper()
	var rings [][][2]float64
	if f.Geometry.Type != "Polygon" || json.Unmarshal(f.Geometry.Coordinates, &rings) != nil || len(rings) == 0 {
		t.Fatalf("fence %s: %s %s, want a Polygon", f.ID, f.Geometry.Type, f.Geometry.Coordinates)
	}
	return rings[0]
}
