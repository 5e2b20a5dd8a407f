package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
)

// startReplicas serves the real tracking handlers: n replicas on 127.0.0.1
// sharing one in-memory broker, as the reference workloads run them.
func startReplicas(t *testing.T, n int, api httpapi.Config) []*servicetest.Replica {
	t.Helper()
	backend := memory.NewBackend()
	out := make([]*servicetest.Replica, n)
	for i := range out {
		out[i] = servicetest.StartReplica(t, memory.New(backend, memory.Config{}), api)
	}
	return out
}

func apiURL(r *servicetest.Replica) string { return r.URL + "/tracking/" }

// Simulated workers reach the real service over both transports: every
// worker's last position is known to the service, and valid.
func TestEndToEndWorkers(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			r := startReplicas(t, 1, httpapi.Config{})[0]
			sim, stop := startSimulator(t, Config{
				Teams: []Team{
					{Name: "team_one", Workers: 5, Interval: 20 * time.Millisecond, URL: apiURL(r), Transport: tr},
					{Name: "team_two", Workers: 4, Interval: 20 * time.Millisecond, URL: apiURL(r), Transport: tr},
				},
				Ramp: 50 * time.Millisecond, Backoff: fastBackoff(),
			})
			for team, n := range map[string]int{"team_one": 5, "team_two": 4} {
				testsupport.Eventually(t, 10*time.Second, team+" positions", func() bool {
					recs := lastPositions(t, r.URL+"/tracking/"+team+"/positions")
					for _, rec := range recs {
						if _, err := wire.DecodePosition(rec, time.Now()); err != nil {
							t.Fatalf("service holds an invalid record %s: %v", rec, err)
						}
					}
					return len(recs) == n
				})
			}
			testsupport.Eventually(t, 10*time.Second, "traffic", func() bool { return sim.Stats().Sent >= 100 })
			stop()
			if st := sim.Stats(); st.Errors != 0 || st.WorkersConnected != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func lastPositions(t *testing.T, url string) []json.RawMessage {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []json.RawMessage
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&recs) != nil {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return recs
}

// The load generator in the reference shape: workers on replica A, managers
// on replica B, one broker between them. Positions arrive, every manager sees
// every worker's latest, and latency is measured from the records' stamps.
func TestEndToEndLoad(t *testing.T) {
	for _, c := range []struct {
		name string
		wt   Transport
		mt   ManagerTransport
	}{{"ws-sse", TransportWebSocket, ManagerSSE}, {"ws-ws", TransportWebSocket, ManagerWebSocket}, {"ndjson-sse", TransportNDJSON, ManagerSSE}} {
		t.Run(c.name, func(t *testing.T) {
			reps := startReplicas(t, 2, httpapi.Config{})
			cfg := quickLoad(apiURL(reps[0]))
			cfg.ManagerURLs = []string{apiURL(reps[1])}
			cfg.WorkerTransport, cfg.ManagerTransport = c.wt, c.mt
			cfg.Logger = testLogger(t)
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, cfg)
		})
	}
}

// Connections with a short lifetime on the real service: workers and
// managers are told to reconnect over and over and come back. Every position
// the service accepted reaches every manager of the team; a worker's last
// record may be lost only by the service itself (a record in flight while the
// service closes the WebSocket is never read), never between the service and
// the managers.
func TestEndToEndLifetimeReconnects(t *testing.T) {
	reps := startReplicas(t, 2, httpapi.Config{MaxLifetime: 300 * time.Millisecond})
	cfg := quickLoad(apiURL(reps[0]))
	cfg.ManagerURLs = []string{apiURL(reps[1])}
	cfg.Duration = 1500 * time.Millisecond
	cfg.Drain = 10 * time.Second // a record the service lost keeps the drain waiting to the end
	cfg.Logger = testLogger(t)
	r, lr, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.WorkerReconnects == 0 || r.ManagerReconnects == 0 {
		t.Fatalf("no reconnects with a 300ms lifetime: %+v", r)
	}
	if r.WorkerErrors != 0 || r.ManagerErrors != 0 || r.Received == 0 {
		t.Fatalf("report %+v", r)
	}
	for _, team := range lr.teams {
		accepted := map[string]uint64{}
		for _, rec := range lastPositions(t, reps[0].URL+"/tracking/"+team.name+"/positions") {
			s, ok := scanRecord(rec)
			if !ok {
				t.Fatalf("foreign record %s", rec)
			}
			accepted[string(s.worker)] = s.seq
		}
		for _, m := range lr.managers {
			if m.team != team {
				continue
			}
			for i, w := range team.workers {
				if seen := m.seen[i].Load(); seen != accepted[w.id] {
					t.Errorf("manager %d: worker %s: service accepted up to %d, manager saw %d", m.n, w.id, accepted[w.id], seen)
				}
			}
		}
	}
	t.Logf("reconnects: workers %d, managers %d; latest positions lost by the service: %d of %d pairs",
		r.WorkerReconnects, r.ManagerReconnects, r.MissedLatest, r.Pairs)
}

// The real handlers with authentication on (a Verifier of the services'
// HS256 secret, as in AUTH_MODE=dev): workers and managers signed with that
// secret get in on every transport and the run is healthy; without a token
// every connection is refused (401), counted, and nothing is published.
func TestEndToEndAuth(t *testing.T) {
	v, err := auth.NewHS256(testSecret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.Config{Verifier: v}
	for _, c := range []struct {
		name string
		wt   Transport
		mt   ManagerTransport
	}{{"ws-sse", TransportWebSocket, ManagerSSE}, {"ndjson-ws", TransportNDJSON, ManagerWebSocket}} {
		t.Run(c.name, func(t *testing.T) {
			reps := startReplicas(t, 2, api)
			cfg := quickLoad(apiURL(reps[0]))
			cfg.ManagerURLs = []string{apiURL(reps[1])}
			cfg.WorkerTransport, cfg.ManagerTransport = c.wt, c.mt
			cfg.Logger = testLogger(t)
			cfg.Auth = Auth{Secret: testSecret}
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, cfg)
		})
	}
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run("no token/"+string(tr), func(t *testing.T) {
			r := startReplicas(t, 1, api)[0]
			sim, stop := startSimulator(t, Config{
				Teams: []Team{{Name: "team_one", Workers: 2, Interval: 20 * time.Millisecond, URL: apiURL(r), Transport: tr}},
				Ramp:  10 * time.Millisecond, Backoff: fastBackoff(),
			})
			testsupport.Eventually(t, 10*time.Second, "refusals", func() bool { return sim.Stats().Errors >= 6 })
			stop()
			st := sim.Stats()
			if st.Sent != 0 || st.Reconnects != 0 || !strings.Contains(st.LastError, "401") ||
				!strings.Contains(st.LastError, "server requires a token: set AUTH_JWT_SECRET or AUTH_TOKEN") {
				t.Fatalf("stats %+v: want refused connects only, the last error saying a token is required", st)
			}
		})
	}
}
