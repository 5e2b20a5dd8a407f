package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The command, configured by the reference environment only, starts the
// number of workers the environment says and streams to both teams.
func TestCommandWorkersFromEnv(t *testing.T) {
	backend := memory.NewBackend()
	r := servicetest.StartReplica(t, memory.New(backend, memory.Config{}), httpapi.Config{})
	u, _ := url.Parse(r.URL)
	vars := map[string]string{
		"HOST": u.Hostname(), "PORT": u.Port(), "REDIS_PATH": "/tracking/", "KAFKA_PATH": "/tracking",
		"REDIS_WORKERS": "6", "KAFKA_WORKERS": "4", "REDIS_UPDATE_DELAY": "20", "KAFKA_UPDATE_DELAY": "20",
		"RAMP": "50ms", "LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testsupport.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, getenv(vars), output{stdout: &stdout, stderr: &stderr}) }()
	testsupport.Eventually(t, 10*time.Second, "every worker reporting", func() bool {
		one, err1 := servicetest.LastPositions(r.URL+"/tracking", "team_one")
		two, err2 := servicetest.LastPositions(r.URL+"/tracking", "team_two")
		return err1 == nil && err2 == nil && len(one) == 6 && len(two) == 4
	})
	cancel() // Ctrl-C
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
}

// team-simulator load, workers on replica A and managers on replica B, writes
// its table and a JSON report.
func TestCommandLoad(t *testing.T) {
	backend := memory.NewBackend()
	a := servicetest.StartReplica(t, memory.New(backend, memory.Config{}), httpapi.Config{})
	b := servicetest.StartReplica(t, memory.New(backend, memory.Config{}), httpapi.Config{})
	report := filepath.Join(t.TempDir(), "report.json")
	args := []string{"load", "-workers", "8", "-teams", "2", "-managers-per-team", "2", "-rate", "20",
		"-duration", "700ms", "-warmup", "100ms", "-ramp", "100ms",
		"-worker-url", a.URL + "/tracking/", "-manager-url", b.URL + "/tracking/",
		"-pids", "1", "-report", report, "-log-level", "warn"}
	var stdout, stderr testsupport.SyncBuffer
	if code := run(context.Background(), args, getenv(nil), output{stdout: &stdout, stderr: &stderr}); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"latency", "p99", "missed latest", "intervals", "process 1", "generator"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r simulator.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.Received == 0 || r.Latency.Count == 0 || r.MissedLatest != 0 || len(r.Servers) != 1 || r.Servers[0].PID != 1 {
		t.Fatalf("report %s", data)
	}
}

// team-simulator roundtrip, workers on replica A, messages sent through B
// and watched on B, prints the round-trip percentiles and writes a report.
func TestCommandRoundTrip(t *testing.T) {
	store, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	backend := memory.NewBackend()
	cfg := service.Config{API: httpapi.Config{RecordsPerSecond: -1}, Messages: store}
	a := servicetest.StartReplicaConfig(t, memory.New(backend, memory.Config{}), cfg)
	b := servicetest.StartReplicaConfig(t, memory.New(backend, memory.Config{}), cfg)
	report := filepath.Join(t.TempDir(), "rt.json")
	args := []string{"roundtrip", "-workers", "2", "-messages", "5", "-rate", "50", "-interval", "50", "-ramp", "20ms",
		"-worker-url", a.URL + "/tracking/", "-send-url", b.URL + "/tracking/", "-watch-url", b.URL + "/tracking/",
		"-watch-transport", "ws", "-ignore-advice", "-report", report, "-log-level", "warn"}
	var stdout, stderr testsupport.SyncBuffer
	if code := run(context.Background(), args, getenv(nil), output{stdout: &stdout, stderr: &stderr}); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"POST -> acked", "p90", "5 within the timeout; 0 not"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r simulator.RoundTripReport
	if err := json.Unmarshal(data, &r); err != nil || r.Acked != 5 || r.AckLatency.Count != 5 {
		t.Fatalf("report %s (%v)", data, err)
	}
	t.Log("\n" + stdout.String())
}
