package integration_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGatewayOverhead measures what the gateway adds to worker-to-manager
// latency, and what it costs to proxy positions. It asserts nothing (timings
// depend on the machine) and runs only with GWIT_MEASURE=1:
//
//	GWIT_MEASURE=1 go test -run GatewayOverhead -v -count=1 ./integration/
//
// It starts two replicas of one strategy and the gateway, and runs the
// same `team-simulator load` twice per round: straight at the replicas
// (workers and managers round robin over both) and through the gateway
// (which spreads workers by least connections and sends each team's managers
// to its rendezvous replica). Each run reports latency (manager receive time
// minus the record's timeStamp, stamped by the worker), positions in/s and
// deliveries/s, and the CPU of the replicas and of the gateway.
//
// Knobs (environment): GWIT_MEASURE_STRATEGY (redis or kafka; redis),
// GWIT_MEASURE_WORKERS (200), GWIT_MEASURE_TEAMS (20), GWIT_MEASURE_MANAGERS
// (managers per team; 2), GWIT_MEASURE_RATE (positions/s per worker; 10),
// GWIT_MEASURE_DURATION (window; 15s), GWIT_MEASURE_ROUNDS (1),
// GWIT_MEASURE_TRANSPORT (workers: ws or ndjson; ws),
// GWIT_MEASURE_FLUSH (the replicas' STREAM_FLUSH_INTERVAL; theirs by default,
// 50ms, which dominates latency: 1ms shows the gateway's share better).
func TestGatewayOverhead(t *testing.T) {
	if os.Getenv("GWIT_MEASURE") == "" {
		t.Skip("a measurement, not a check: set GWIT_MEASURE=1 to run it")
	}
	svc := needServices(t)
	strategy := envOr("GWIT_MEASURE_STRATEGY", "redis")
	if _, ok := serviceNames[strategy]; !ok {
		t.Fatalf("GWIT_MEASURE_STRATEGY=%q: want redis or kafka", strategy)
	}
	var replicaEnv []string
	if f := os.Getenv("GWIT_MEASURE_FLUSH"); f != "" {
		replicaEnv = append(replicaEnv, "STREAM_FLUSH_INTERVAL="+f)
	}
	nRedis, nKafka := 2, 0
	if strategy == "kafka" {
		nRedis, nKafka = 0, 2
	}
	sim := simulatorPath(t)
	c := startCluster(t, svc, nRedis, nKafka, replicaEnv)
	reps := c.replicas[strategy]

	var pids []string
	for _, p := range append(reps, c.gw) {
		pids = append(pids, strconv.Itoa(p.cmd.Process.Pid))
	}
	direct := reps[0].url() + "/tracking/," + reps[1].url() + "/tracking/"
	viaGateway := c.gwURL(strategy) + "/"
	shape := []string{
		"-workers", envOr("GWIT_MEASURE_WORKERS", "200"),
		"-teams", envOr("GWIT_MEASURE_TEAMS", "20"),
		"-managers-per-team", envOr("GWIT_MEASURE_MANAGERS", "2"),
		"-rate", envOr("GWIT_MEASURE_RATE", "10"),
		"-duration", envOr("GWIT_MEASURE_DURATION", "15s"),
		"-transport", envOr("GWIT_MEASURE_TRANSPORT", "ws"),
		"-strategy", strategy,
		"-pids", strings.Join(pids, ","),
		"-status-interval", "-1s", "-log-level", "warn",
	}
	t.Logf("shape: %s; replicas %s, gateway %s; replica env %v", strings.Join(shape[:12], " "), direct, c.gw.addr, replicaEnv)
	rounds, _ := strconv.Atoi(envOr("GWIT_MEASURE_ROUNDS", "1"))
	results := map[string][]*loadReport{}
	for round := 1; round <= max(rounds, 1); round++ {
		for _, run := range []struct{ name, url string }{{"direct", direct}, {"gateway", viaGateway}} {
			tag := fmt.Sprintf("%s-r%d", run.name, round)
			report := filepath.Join(c.logDir, "load-"+tag+".json")
			args := append([]string{"load"}, shape...)
			args = append(args, "-worker-url", run.url, "-manager-url", run.url,
				"-team-prefix", fmt.Sprintf("gwit-%s-%s-", c.id, tag), "-report", report)
			out, err := exec.Command(sim, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("team-simulator %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			r := &loadReport{}
			b, err := os.ReadFile(report)
			if err == nil {
				err = json.Unmarshal(b, r)
			}
			if err != nil {
				t.Fatalf("load report %s: %v\n%s", report, err, out)
			}
			results[run.name] = append(results[run.name], r)
			t.Logf("%-8s %s", tag, r.summary(c.gw.cmd.Process.Pid))
		}
	}
	d, g := median(results["direct"]), median(results["gateway"])
	t.Logf("gateway minus direct (median of %d round(s)): latency p50 %+.1f ms, p95 %+.1f ms, p99 %+.1f ms, mean %+.1f ms; "+
		"the gateway proxied %.0f positions/s in and %.0f deliveries/s out on %.2f cores (%.1f µs of gateway CPU per position in or out)",
		len(results["direct"]), g.Latency.P50Ms-d.Latency.P50Ms, g.Latency.P95Ms-d.Latency.P95Ms, g.Latency.P99Ms-d.Latency.P99Ms,
		g.Latency.MeanMs-d.Latency.MeanMs, g.SentPerSecond, g.ReceivedPerSecond, g.cores(c.gw.cmd.Process.Pid),
		1e6*g.cores(c.gw.cmd.Process.Pid)/(g.SentPerSecond+g.ReceivedPerSecond))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// loadReport is the part of team-simulator's JSON report read here.
type loadReport struct {
	SentPerSecond     float64 `json:"sentPerSecond"`
	ReceivedPerSecond float64 `json:"receivedPerSecond"`
	ExpectedPerSecond float64 `json:"expectedPerSecond"`
	Latency           struct {
		Count  uint64  `json:"count"`
		P50Ms  float64 `json:"p50Ms"`
		P95Ms  float64 `json:"p95Ms"`
		P99Ms  float64 `json:"p99Ms"`
		MaxMs  float64 `json:"maxMs"`
		MeanMs float64 `json:"meanMs"`
	} `json:"latency"`
	MissedLatest int64 `json:"missedLatest"`
	Skipped      int64 `json:"skipped"`
	WorkerErrors int64 `json:"workerErrors"`
	Servers      []struct {
		PID   int     `json:"pid"`
		Cores float64 `json:"cores"`
	} `json:"servers"`
}

// cores is the CPU the process pid used over the window, in cores.
func (r *loadReport) cores(pid int) float64 {
	for _, s := range r.Servers {
		if s.PID == pid {
			return s.Cores
		}
	}
	return 0
}

func (r *loadReport) summary(gatewayPID int) string {
	var replicas float64
	for _, s := range r.Servers {
		if s.PID != gatewayPID {
			replicas += s.Cores
		}
	}
	return fmt.Sprintf("in %.0f/s, deliveries %.0f/s (expected %.0f/s), latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, mean %.1f ms, max %.1f ms; "+
		"missed latest %d, skipped %d, worker errors %d; CPU replicas %.2f cores, gateway %.2f cores",
		r.SentPerSecond, r.ReceivedPerSecond, r.ExpectedPerSecond, r.Latency.P50Ms, r.Latency.P95Ms, r.Latency.P99Ms,
		r.Latency.MeanMs, r.Latency.MaxMs, r.MissedLatest, r.Skipped, r.WorkerErrors, replicas, r.cores(gatewayPID))
}

// median returns the report of median p50 latency (the only one for one round).
func median(rs []*loadReport) *loadReport {
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b *loadReport) int {
		return cmp.Compare(a.Latency.P50Ms, b.Latency.P50Ms)
	})
	return sorted[len(sorted)/2]
}
