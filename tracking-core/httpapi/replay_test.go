package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// replayWindow is the acceptance test's "a 60 s window", 5 workers at 2/s.
const (
	replayWindow  = 60 * time.Second
	replayWorkers = 5
	replayEvery   = 500 * time.Millisecond
)

func writeWindow(t *testing.T, w *history.Writer, team string, from time.Time) int {
	t.Helper()
	var recs []history.Record
	for d := time.Duration(0); d < replayWindow; d += replayEvery {
		for i := range replayWorkers {
			p := tracking.Position{ID: fmt.Sprintf("w%d.%d", i, d/replayEvery), WorkerID: fmt.Sprintf("w%d", i), Team: team,
				Location: tracking.Location{Latitude: 1 + float64(d/replayEvery)/1000, Longitude: float64(i)}, TimeStamp: from.Add(d)}
			recs = append(recs, history.Record{Position: p, Received: from.Add(d)})
		}
	}
	if err := w.Store().Write(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

type arrival struct {
	at  time.Time
	rec struct {
		ID        string    `json:"id"`
		TimeStamp time.Time `json:"timeStamp"`
	}
}

// readReplay reads ms to its end notice, stamping each position's arrival.
func readReplay(t *testing.T, ms apiclient.ManagerStream) ([]arrival, int) {
	t.Helper()
	defer ms.Close()
	var got []arrival
	for {
		ev, err := ms.Next()
		if err != nil {
			t.Fatalf("replay ended without its end notice after %d positions: %v", len(got), err)
		}
		now := time.Now()
		for _, p := range ev.Positions {
			a := arrival{at: now}
			if err := json.Unmarshal(p, &a.rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, a)
		}
		if ev.End != nil {
			if ev.End.Error != "" {
				t.Fatalf("replay ended with an error: %s", ev.End.Error)
			}
			if _, err := ms.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the end notice: %v, want io.EOF", err)
			}
			return got, ev.End.Positions
		}
	}
}

// checkReplayOrder checks that every position came once, in fix-time order.
func checkReplayOrder(t *testing.T, got []arrival, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("replay carried %d of %d positions", len(got), n)
	}
	ids := map[string]bool{}
	for i, a := range got {
		if ids[a.rec.ID] {
			t.Fatalf("position %s twice", a.rec.ID)
		}
		ids[a.rec.ID] = true
		if i > 0 && a.rec.TimeStamp.Before(got[i-1].rec.TimeStamp) {
			t.Fatalf("position %d (%s) is older than the one before", i, a.rec.ID)
		}
	}
}

// A 60 s window replayed at speed 10 takes about 6 s and carries every
// position once, in order, each no earlier than its time (a lower bound:
// a slow machine may be late, never early by more than a flush interval).
func TestReplayPacedAtSpeed(t *testing.T) {
	r, iss, w := withHistory(t)
	from := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	n := writeWindow(t, w, "team_replay", from)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_replay"}})
	c, err := apiclient.New(r.URL+"/tracking", apiclient.Config{Token: mgr})
	if err != nil {
		t.Fatal(err)
	}
	query := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(replayWindow).Format(time.RFC3339)}, "speed": {"10"}}
	start := time.Now()
	ms, err := c.ReplaySSE(t.Context(), "team_replay", query)
	if err != nil {
		t.Fatal(err)
	}
	got, count := readReplay(t, ms)
	took := time.Since(start)
	checkReplayOrder(t, got, n)
	if count != n {
		t.Fatalf("end notice counts %d positions, want %d", count, n)
	}
	const slack = 100 * time.Millisecond // the flush interval (50 ms) and then some
	for _, a := range got {
		due := start.Add(a.rec.TimeStamp.Sub(from) / 10)
		if a.at.Before(due.Add(-slack)) {
			t.Fatalf("position %s arrived %s before its time", a.rec.ID, due.Sub(a.at))
		}
	}
	t.Logf("replay of %s at speed 10: %d positions in %s", replayWindow, n, took.Round(time.Millisecond))
}

// speed=max sends as fast as the client reads; the WebSocket carries the
// same positions, batched.
func TestReplayAtMaxSpeedOverWebSocket(t *testing.T) {
	r, iss, w := withHistory(t)
	from := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	n := writeWindow(t, w, "team_replay", from)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_replay"}})
	c, err := apiclient.New(r.URL+"/tracking", apiclient.Config{Token: mgr})
	if err != nil {
		t.Fatal(err)
	}
	query := url.Values{"from": {from.Format(time.RFC3339)}, "speed": {"max"}}
	ms, err := c.ReplayWS(t.Context(), "team_replay", query)
	if err != nil {
		t.Fatal(err)
	}
	got, count := readReplay(t, ms)
	checkReplayOrder(t, got, n)
	if count != n {
		t.Fatalf("end notice counts %d, want %d", count, n)
	}
}

func TestReplayRefusals(t *testing.T) {
	r, iss, _ := withHistory(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_replay"}})
	worker := token(t, iss, auth.Claims{Subject: "w1", Role: auth.RoleWorker, Teams: []string{"team_replay"}})
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_other"}})
	from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	for _, c := range []struct {
		tok, query string
		status     int
		field      string
	}{
		{worker, "from=" + from, http.StatusForbidden, ""},
		{other, "from=" + from, http.StatusForbidden, ""},
		{mgr, "", http.StatusBadRequest, "from"},
		{mgr, "from=" + from + "&speed=0", http.StatusBadRequest, "speed"},
		{mgr, "from=" + from + "&speed=fast", http.StatusBadRequest, "speed"},
		{mgr, "from=" + from + "&to=2000-01-01T00:00:00Z", http.StatusBadRequest, "to"},
	} {
		resp, body := get(t, r.URL+"/tracking/team_replay/replay?"+c.query, c.tok)
		var e struct{ Message string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != c.status || !strings.HasPrefix(e.Message, c.field+": ") && c.field != "" {
			t.Errorf("%s: %d %s, want %d naming %q", c.query, resp.StatusCode, body, c.status, c.field)
		}
	}
}
