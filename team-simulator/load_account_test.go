package simulator

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// metricsURLs are the replicas' /metrics pages.
func metricsURLs(reps ...*service) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.URL+"/metrics")
	}
	return out
}

// A healthy run accounts for every position: every manager got every
// position owed to it, and the report says so, with the replicas' counters.
func TestLoadAccountsEveryPosition(t *testing.T) {
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(mt), func(t *testing.T) {
			reps := startReplicas(t, httpapi.Config{}, httpapi.Config{})
			cfg := quickLoad(t, reps[0], reps[1])
			cfg.ManagerTransport = mt
			cfg.MetricsURLs = metricsURLs(reps...)
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, cfg)
			l := r.Loss
			if l == nil || !l.NoPositionLost || l.Expected == 0 || l.Expected != l.Delivered || l.Lost != 0 ||
				l.Managers != cfg.Teams*cfg.ManagersPerTeam || l.ManagersWithLoss != 0 || l.NeverConnected != 0 {
				t.Fatalf("loss %+v", l)
			}
			// Each manager is owed at least what its team sent in the window.
			if l.Expected < r.Sent*int64(cfg.ManagersPerTeam) {
				t.Fatalf("expected %d < %d sent in the window × %d managers per team", l.Expected, r.Sent, cfg.ManagersPerTeam)
			}
			if len(l.Replicas) != 2 || l.Server == nil || l.Server.Accepted < r.Sent || l.Server.Conflated != 0 || l.Server.Rejected != 0 {
				t.Fatalf("server counters %+v %+v", l.Server, l.Replicas)
			}
			for _, rep := range l.Replicas {
				if rep.Error != "" {
					t.Fatalf("scrape %s: %s", rep.URL, rep.Error)
				}
			}
			// The servers' share of the latency, from the replicas'
			// histogram over the window: the generator's own measure
			// counts more (stamping, loopback, reading), so it is no less,
			// up to the interpolation within a bucket (bounds at most 2.5×
			// apart).
			sl := r.ServerLatency
			if sl == nil || sl.Count < r.Sent/2 || sl.P50Ms <= 0 || sl.P99Ms < sl.P50Ms || sl.P50Ms > 2.5*r.Latency.P50Ms+1 {
				t.Fatalf("server latency %+v, latency %+v, sent %d", sl, r.Latency, r.Sent)
			}
			var table bytes.Buffer
			if err := r.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), "of which servers") || !strings.Contains(table.String(), "no position lost") || strings.Contains(table.String(), "LOST") {
				t.Fatalf("table:\n%s", table.String())
			}
		})
	}
}

// Managers told to reconnect over and over resume after the last id they
// saw: nothing is lost across the reopenings.
func TestLoadAccountResumesAcrossReconnects(t *testing.T) {
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(mt), func(t *testing.T) {
			reps := startReplicas(t, httpapi.Config{}, httpapi.Config{MaxLifetime: 200 * time.Millisecond})
			cfg := quickLoad(t, reps[0], reps[1])
			cfg.ManagerTransport = mt
			cfg.MetricsURLs = metricsURLs(reps...)
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.ManagerReconnects == 0 || r.Loss.Server.LifetimeHints == 0 || r.Loss.Server.Resumed == 0 {
				t.Fatalf("no resumed reconnects: %+v, server %+v", r, r.Loss.Server)
			}
			if !r.Loss.NoPositionLost {
				t.Fatalf("loss across resumed reconnects: %+v (causes %q)", r.Loss, r.Loss.Causes)
			}
		})
	}
}

// Count mode: every worker sends exactly -positions, every manager is owed
// all of its team's, and the fan-out figure runs from the first send to the
// last receipt.
func TestLoadCountMode(t *testing.T) {
	reps := startReplicas(t, httpapi.Config{}, httpapi.Config{})
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.Positions = 5
	cfg.Duration = 0 // count mode's default bound
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(cfg.Workers * cfg.ManagersPerTeam * cfg.Positions)
	f := r.Fanout
	if f == nil || f.Expected != want || f.Delivered != want || !r.Loss.NoPositionLost {
		t.Fatalf("fanout %+v, loss %+v; want %d deliveries", f, r.Loss, want)
	}
	if r.Sent != int64(cfg.Workers*cfg.Positions) {
		t.Fatalf("sent %d in the window, want %d", r.Sent, cfg.Workers*cfg.Positions)
	}
	if f.Seconds <= 0 || !f.LastReceipt.After(f.FirstSend) || f.DeliveriesPerSecond <= 0 {
		t.Fatalf("fanout %+v", f)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "fanout") {
		t.Fatalf("table:\n%s", table.String())
	}
}

// A managers' replica that writes seldom and keeps few pending positions
// conflates (newest fix wins): the report counts what each manager missed,
// says a position was lost, and names the conflation.
func TestLoadAccountNamesConflation(t *testing.T) {
	reps := startReplicas(t, httpapi.Config{},
		httpapi.Config{FlushInterval: 300 * time.Millisecond, QueueSoftLimit: 2, QueueHardLimit: 1000})
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.MetricsURLs = metricsURLs(reps...)
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Loss
	if l.NoPositionLost || l.Lost == 0 || l.Skipped == 0 || l.ManagersWithLoss == 0 || l.Server.Conflated == 0 {
		t.Fatalf("loss %+v, server %+v", l, l.Server)
	}
	if l.Expected != l.Delivered+l.Lost || l.Lost != l.SendFailed+l.Skipped+l.ReconnectGap+l.Tail {
		t.Fatalf("the account does not add up: %+v", l)
	}
	// Conflation never skips the latest: every manager still saw every
	// worker's last position.
	if r.MissedLatest != 0 {
		t.Fatalf("missed latest %d", r.MissedLatest)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	if !strings.Contains(out, "LOST") || !strings.Contains(out, "queue conflation") || !strings.Contains(out, "manager load-t") {
		t.Fatalf("table:\n%s", out)
	}
	t.Logf("table:\n%s", out)
	if strings.Contains(out, "no position lost") {
		t.Fatalf("table says no position lost:\n%s", out)
	}
}

// Records the workers' replica refuses (over its rate limit) are lost for
// every manager of the team, and the report counts them as refused, from
// the error answers the workers got, not as a loss inside the stream.
func TestLoadAccountNamesRejections(t *testing.T) {
	reps := startReplicas(t, httpapi.Config{RecordsPerSecond: 14, RecordBurst: 1}, httpapi.Config{})
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.MetricsURLs = metricsURLs(reps...)
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Loss
	if l.NoPositionLost || l.Rejected == 0 || l.Server.Rejected == 0 || l.Rejected > l.Server.Rejected*int64(cfg.ManagersPerTeam) {
		t.Fatalf("loss %+v, server %+v", l, l.Server)
	}
	// Every refusal is answered with the record's id: nothing is left
	// unexplained within the streams.
	if l.Skipped != 0 || l.Lost != l.Rejected+l.Tail {
		t.Fatalf("loss %+v", l)
	}
	if !strings.Contains(strings.Join(l.Causes, "\n"), "refused by the service") {
		t.Fatalf("causes %q", l.Causes)
	}
	t.Logf("refused %d (server: %d records), lost %d of %d", l.Rejected, l.Server.Rejected, l.Lost, l.Expected)
}

// Managers that start over from the snapshot each time their stream
// reopens, and come back only after a while, miss what was sent meanwhile:
// the report counts it as lost across reconnects and names the hints.
func TestLoadAccountNamesReconnectGaps(t *testing.T) {
	reps := startReplicas(t, httpapi.Config{}, httpapi.Config{MaxLifetime: 200 * time.Millisecond})
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.ManagerNoResume = true
	cfg.Backoff.HintSpread = 300 * time.Millisecond // positions go out at 20/s meanwhile
	cfg.MetricsURLs = metricsURLs(reps...)
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Loss
	if l.NoPositionLost || l.ReconnectGap == 0 || l.Server.LifetimeHints == 0 || l.Worst[0].Reconnects == 0 {
		t.Fatalf("loss %+v, server %+v", l, l.Server)
	}
	if !strings.Contains(strings.Join(l.Causes, "\n"), "manager stream reopenings") {
		t.Fatalf("causes %q", l.Causes)
	}
	// The snapshot still brings each worker's latest.
	if r.MissedLatest != 0 {
		t.Fatalf("missed latest %d", r.MissedLatest)
	}
}
