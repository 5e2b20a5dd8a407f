package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/httpapi"
)

// startFenceService is two replicas of the real service with
// authentication on and one alerting store between them, a SQLite file
// (HISTORY_DSN=sqlite:...): fences created on one are evaluated on both.
func startFenceService(t *testing.T) []*service {
	t.Helper()
	store, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() }) // after the replicas: cleanups run last first
	return startAuthService(t, httpapi.Config{Alerts: &httpapi.Alerts{Store: store}}, 2)
}

// listFences is GET {base}{team}/geofences, as an admin.
func listFences(t *testing.T, s *service, team string) []geofence.Fence {
	t.Helper()
	iss, err := auth.NewIssuer(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue(auth.Claims{Subject: "test-admin", Role: auth.RoleAdmin, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.base()+team+"/geofences", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Geofences []geofence.Fence `json:"geofences"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s geofences: %s", team, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Geofences
}

// onFirstWatch is the simulator's HTTP transport; it calls hook once,
// synchronously, when the first manager opens its stream: after the run
// created its fences, before any worker connects.
type onFirstWatch struct {
	http.RoundTripper
	once sync.Once
	hook func()
}

func (o *onFirstWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		o.once.Do(o.hook)
	}
	return o.RoundTripper.RoundTrip(r)
}

// A load run with -geofences against the real service (workers on A,
// managers on B, fences in one store): it creates the fences, spread over
// its teams, as a manager of each team, before the run (the service lists
// them when the first manager connects); the workers walk through them, so
// the managers receive enter alerts beside the positions, which the
// position accounting does not count (nothing missed, nothing foreign);
// and the fences are gone after the run.
func TestLoadGeofences(t *testing.T) {
	reps := startFenceService(t)
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.Auth = Auth{Secret: testSecret}
	cfg.Geofences = 14 // over 3 teams: 5, 5, 4
	cfg.Duration, cfg.Warmup = 1500*time.Millisecond, 300*time.Millisecond
	var during map[string][]geofence.Fence
	hook := &onFirstWatch{RoundTripper: newHTTPClient().Transport, hook: func() {
		during = map[string][]geofence.Fence{}
		for _, team := range []string{"load-t0", "load-t1", "load-t2"} {
			during[team] = listFences(t, reps[1], team)
		}
	}}
	cfg.HTTPClient = &http.Client{Transport: hook}
	t.Cleanup(cfg.HTTPClient.CloseIdleConnections)

	r, lr, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, cfg)

	// During the run: 14 fences, 5, 5 and 4, circles and polygons of
	// 50-500 m, named after the run.
	if during == nil {
		t.Fatal("no manager opened a stream")
	}
	circles, polygons := 0, 0
	for team, want := range map[string]int{"load-t0": 5, "load-t1": 5, "load-t2": 4} {
		if len(during[team]) != want {
			t.Errorf("team %s had %d fences during the run, want %d", team, len(during[team]), want)
		}
		for _, f := range during[team] {
			if !strings.HasPrefix(f.Name, "team-simulator "+string(lr.run)+" "+team) {
				t.Errorf("fence named %q", f.Name)
			}
			switch g := f.Geometry; g.Type {
			case geofence.Circle:
				circles++
				if g.Radius < fenceMinRadius || g.Radius > fenceMaxRadius {
					t.Errorf("fence %s: radius %v m", f.Name, g.Radius)
				}
			case geofence.Polygon:
				polygons++
			default:
				t.Errorf("fence %s: geometry %s", f.Name, g.Type)
			}
		}
	}
	if circles == 0 || polygons == 0 {
		t.Errorf("%d circles and %d polygons, want both", circles, polygons)
	}

	// Alerts: the workers passed the fences (over the whole run: a worker
	// may have been inside its fence from its first position, before the
	// window).
	all := lr.c.snapshot().Alerts
	if all.Enter == 0 {
		t.Fatalf("managers received no enter alert (alerts %+v)", all)
	}
	if r.Alerts.Total > all.Total || r.Alerts.Total != r.Alerts.Enter+r.Alerts.Exit+r.Alerts.Dwell+r.Alerts.Other {
		t.Fatalf("window alerts %+v, run %+v", r.Alerts, all)
	}
	t.Logf("alerts over the run: %+v; in the window: %+v", all, r.Alerts)

	g := r.Geofences
	if g == nil || g.Created != 14 || g.Deleted != 14 || g.Circles+g.Polygons != 14 || g.Kept || g.DeleteError != "" {
		t.Fatalf("geofences report %+v", g)
	}
	for _, team := range []string{"load-t0", "load-t1", "load-t2"} {
		if left := listFences(t, reps[0], team); len(left) != 0 {
			t.Errorf("team %s still has %d fences after the run", team, len(left))
		}
	}
}

// -keep-geofences leaves the run's fences in place.
func TestLoadKeepGeofences(t *testing.T) {
	reps := startFenceService(t)
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.Auth = Auth{Secret: testSecret}
	cfg.Geofences, cfg.KeepGeofences = 3, true
	cfg.Duration = 300 * time.Millisecond
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g := r.Geofences; g == nil || g.Created != 3 || !g.Kept || g.Deleted != 0 {
		t.Fatalf("geofences report %+v", g)
	}
	for _, team := range []string{"load-t0", "load-t1", "load-t2"} {
		if n := len(listFences(t, reps[1], team)); n != 1 {
			t.Errorf("team %s has %d fences after the run, want 1", team, n)
		}
	}
}

// A service that cannot keep fences, or a token that may not create
// them, stops the run before it starts, with the service's message.
func TestLoadGeofencesRefused(t *testing.T) {
	t.Run("no store", func(t *testing.T) {
		s := startService(t, httpapi.Config{})
		cfg := quickLoad(t, s, s)
		cfg.Geofences = 2
		_, err := RunLoad(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "-geofences") || !strings.Contains(err.Error(), "501") ||
			!strings.Contains(err.Error(), "HISTORY_DSN is unset") {
			t.Fatalf("RunLoad: %v; want the service's 501 and its message", err)
		}
	})
	t.Run("worker token", func(t *testing.T) {
		reps := startFenceService(t)
		iss, _ := auth.NewIssuer(testSecret, time.Hour)
		tok, _ := iss.Issue(auth.Claims{Subject: "w", Role: auth.RoleWorker, WorkerID: "w", Teams: []string{"load-t0"}, Expires: time.Now().Add(time.Hour)})
		cfg := quickLoad(t, reps[0], reps[1])
		cfg.Auth = Auth{Token: tok}
		cfg.Geofences = 2
		_, err := RunLoad(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "of team load-t") {
			t.Fatalf("RunLoad: %v; want a 403 naming the team", err)
		}
		if n := len(listFences(t, reps[0], "load-t0")) + len(listFences(t, reps[0], "load-t1")); n != 0 {
			t.Fatalf("%d fences left behind by a refused run", n)
		}
	})
}

// The plan: fences spread evenly over the teams, each around a point its
// worker passes in the window (the same walk as the worker's own), every
// one valid, the same for the same seed.
func TestPlanFences(t *testing.T) {
	cfg := LoadConfig{Workers: 20, Teams: 4, Rate: 10, Duration: 10 * time.Second, Geofences: 42, WorkerURLs: []string{"http://x/"}, Seed: 7}.withDefaults()
	lr := newLoadRun(cfg)
	plan, err := planFences(cfg, lr.teams, "run")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := planFences(cfg, lr.teams, "run")
	perTeam := map[string]int{}
	for i, p := range plan.fences {
		perTeam[p.team]++
		if string(p.fence.AppendJSON(nil)) != string(again.fences[i].fence.AppendJSON(nil)) {
			t.Fatalf("fence %d differs for the same seed", i)
		}
		if err := p.fence.Validate(); err != nil {
			t.Fatalf("fence %d: %v", i, err)
		}
	}
	if perTeam["load-t0"] != 11 || perTeam["load-t1"] != 11 || perTeam["load-t2"] != 10 || perTeam["load-t3"] != 10 {
		t.Fatalf("fences per team %v", perTeam)
	}
	if plan.circles+plan.polygons != 42 || plan.polygons == 0 || plan.dwell == 0 || plan.schedule == 0 {
		t.Fatalf("plan %+v", plan)
	}
	// Fence 0 of team 0 is around a point worker 0 passes in the window.
	interval := time.Second / 10
	first := int((cfg.Ramp + cfg.Warmup) / interval)
	w := newWalker(cfg.Movement, cfg.Seed, 0)
	c := plan.fences[0].fence.Geometry.Center
	found := false
	for s := 1; s <= first+int(cfg.Duration/interval); s++ {
		w.step(interval.Seconds())
		if s >= first && distance(w.pos, tracking.Location{Latitude: c.Lat, Longitude: c.Lon}) < 1e-6 {
			found = true
		}
	}
	if !found {
		t.Fatalf("fence 0's centre %v is not on worker 0's path in the window", c)
	}
}
