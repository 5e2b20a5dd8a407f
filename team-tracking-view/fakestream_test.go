package view_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// fakeTracking stands in for the gateway's /tracking/{strategy}/{team} SSE
// endpoint (docs/API.md): `retry:`, then the snapshot (one data event per
// worker), then every interval a new position of every worker. Workers
// circle around their team's centre, so markers visibly move.
type fakeTracking struct {
	teams    map[string]fakeTeam
	interval time.Duration
	// reconnectFirst makes the first connection of each team end right after
	// the snapshot with `event: reconnect`, as a replica does at the end of
	// a connection's lifetime: the view must reconnect and get the snapshot
	// again before any live position.
	reconnectFirst bool
	// failFirst answers the first failFirst connections of each team with
	// 503, as a gateway does while no replica is healthy.
	failFirst int

	start time.Time
	done  chan struct{} // closed by stop: streams end

	mu    sync.Mutex
	conns map[string]int
}

type fakeTeam struct {
	prefix   string // worker ids are prefix-01, prefix-02, ...
	workers  int
	lat, lng float64 // centre
}

func newFakeTracking(interval time.Duration, teams map[string]fakeTeam) *fakeTracking {
	return &fakeTracking{
		teams:    teams,
		interval: interval,
		start:    time.Now(),
		done:     make(chan struct{}),
		conns:    map[string]int{},
	}
}

// register adds the stream route to mux.
func (f *fakeTracking) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /tracking/{strategy}/{team}", f.serveStream)
}

// stop ends every stream (before the test server closes).
func (f *fakeTracking) stop() { close(f.done) }

func (f *fakeTracking) connections(team string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[team]
}

func (f *fakeTracking) serveStream(w http.ResponseWriter, r *http.Request) {
	strategy, name := r.PathValue("strategy"), r.PathValue("team")
	team, ok := f.teams[name]
	if !ok || (strategy != "redis" && strategy != "kafka") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.conns[name]++
	conn := f.conns[name]
	f.mu.Unlock()
	if conn <= f.failFirst {
		http.Error(w, "no healthy tracking replica", http.StatusServiceUnavailable)
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, "retry: 2000\n\n")
	f.writePositions(w, name, team)
	if rc.Flush() != nil {
		return
	}
	if f.reconnectFirst && conn == 1 {
		fmt.Fprint(w, "event: reconnect\ndata: {\"reason\":\"lifetime\"}\n\n")
		_ = rc.Flush()
		return
	}

	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		case <-tick.C:
			f.writePositions(w, name, team)
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// record is the canonical position record of docs/API.md, fields in order.
type record struct {
	ID        string   `json:"id"`
	WorkerID  string   `json:"workerId"`
	Team      string   `json:"team"`
	Location  location `json:"location"`
	TimeStamp string   `json:"timeStamp"`
	Speed     float64  `json:"speed"`
	Heading   float64  `json:"heading"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// writePositions writes the current position of every worker of the team,
// one unnamed data event each.
func (f *fakeTracking) writePositions(w http.ResponseWriter, name string, team fakeTeam) {
	now := time.Now()
	elapsed := now.Sub(f.start).Seconds()
	for i := range team.workers {
		id := team.prefix + "-" + fmt.Sprintf("%02d", i+1)
		// Worker i circles at its own radius (about 200-650 m) and phase,
		// at 4-15 m/s (a runner to a cyclist).
		radius := 0.002 + 0.0015*float64(i%4)
		const omega = 0.02 // rad/s
		theta := float64(i)*2.399963 + omega*elapsed
		lat := team.lat + radius*math.Cos(theta)
		lng := team.lng + radius*math.Sin(theta)/math.Cos(team.lat*math.Pi/180)
		heading := math.Mod(math.Atan2(math.Cos(theta), -math.Sin(theta))*180/math.Pi+360, 360)
		rec := record{
			ID:        id + "-" + strconv.FormatInt(now.UnixMilli(), 10),
			WorkerID:  id,
			Team:      name,
			Location:  location{Latitude: lat, Longitude: lng},
			TimeStamp: now.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			Speed:     radius * 111_000 * omega,
			Heading:   heading,
		}
		data, _ := json.Marshal(rec) // plain struct: cannot fail
		fmt.Fprintf(w, "data: %s\n\n", data)
	}
}
