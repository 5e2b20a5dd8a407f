package main

import (
	"io"
	"strings"
	"testing"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
)

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func envOf(vars map[string]string) *config.Env { return config.Getenv(getenv(vars)) }

// The reference defaults: team_one on Redis with 95 workers, team_two on Kafka
// with 80, every 550 ms, through the gateway at localhost:8080.
func TestDefaults(t *testing.T) {
	cfg, _, err := workerConfig(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []simulator.Team{
		{Name: "team_one", Workers: 95, Interval: 550 * time.Millisecond, URL: "http://localhost:8080/tracking/redis/", Transport: "ws"},
		{Name: "team_two", Workers: 80, Interval: 550 * time.Millisecond, URL: "http://localhost:8080/tracking/kafka/", Transport: "ws"},
	}
	if len(cfg.Teams) != 2 || cfg.Teams[0] != want[0] || cfg.Teams[1] != want[1] {
		t.Fatalf("teams = %+v", cfg.Teams)
	}
	if *cfg.Movement.Centre != simulator.SaoPaulo {
		t.Fatalf("centre = %v", *cfg.Movement.Centre)
	}
}

// Reference bug: a worker count from the environment collapsed to one worker
// (the string "95" used as a number). The count is parsed as a number, all the
// workers are started, and what is not a number is refused with the
// variable's name.
func TestReferenceBugWorkerCountFromEnv(t *testing.T) {
	cfg, _, err := workerConfig(nil, envOf(map[string]string{"REDIS_WORKERS": "95", "KAFKA_WORKERS": " 7 "}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Teams[0].Workers != 95 || cfg.Teams[1].Workers != 7 {
		t.Fatalf("workers = %d, %d; want 95, 7", cfg.Teams[0].Workers, cfg.Teams[1].Workers)
	}
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sim.Workers() != 102 {
		t.Fatalf("simulator has %d workers, want 102", sim.Workers())
	}
	for _, bad := range []string{"abc", "95 workers", "-1", "1e2", "9.5", "[95]"} {
		_, _, err := workerConfig(nil, envOf(map[string]string{"REDIS_WORKERS": bad}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "REDIS_WORKERS") {
			t.Errorf("REDIS_WORKERS=%q: err = %v, want one naming the variable", bad, err)
		}
	}
}

func TestEnvAndFlags(t *testing.T) {
	vars := map[string]string{
		"HOST": "gw.local", "PORT": "9090", "REDIS_PATH": "/r", "KAFKA_PATH": "/k/",
		"REDIS_WORKERS": "10", "KAFKA_WORKERS": "20", "REDIS_UPDATE_DELAY": "300", "KAFKA_UPDATE_DELAY": "1s",
		"TEAMS": "alpha:redis:5:250,beta:kafka, gamma", "TRANSPORT": "ndjson",
		"CENTRE": "0,0", "SEED": "0", "RADIUS": "500",
	}
	cfg, _, err := workerConfig(nil, envOf(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []simulator.Team{
		{Name: "alpha", Workers: 5, Interval: 250 * time.Millisecond, URL: "http://gw.local:9090/r/", Transport: "ndjson"},
		{Name: "beta", Workers: 20, Interval: time.Second, URL: "http://gw.local:9090/k/", Transport: "ndjson"},
		{Name: "gamma", Workers: 10, Interval: 300 * time.Millisecond, URL: "http://gw.local:9090/r/", Transport: "ndjson"},
	}
	for i := range want {
		if i >= len(cfg.Teams) || cfg.Teams[i] != want[i] {
			t.Fatalf("teams = %+v, want %+v", cfg.Teams, want)
		}
	}
	// (0, 0) and seed 0 are values like any other, not "unset".
	if *cfg.Movement.Centre != (tracking.Location{}) || cfg.Seed != 0 || cfg.Movement.Radius != 500 {
		t.Fatalf("centre %v seed %d radius %v", *cfg.Movement.Centre, cfg.Seed, cfg.Movement.Radius)
	}

	// Flags win over the environment.
	cfg, _, err = workerConfig([]string{"-redis-workers", "3", "-redis-update-delay", "100", "-teams", "x", "-seed", "42", "-centre", "51.5074,-0.1278"},
		envOf(map[string]string{"REDIS_WORKERS": "95"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Teams) != 1 || cfg.Teams[0].Workers != 3 || cfg.Teams[0].Interval != 100*time.Millisecond || cfg.Seed != 42 || cfg.Movement.Centre.Latitude != 51.5074 {
		t.Fatalf("flags: %+v seed %d centre %v", cfg.Teams, cfg.Seed, *cfg.Movement.Centre)
	}

	for name, vars := range map[string]map[string]string{
		"delay":    {"REDIS_UPDATE_DELAY": "soon"},
		"centre":   {"CENTRE": "-23.5"},
		"seed":     {"SEED": "-1"},
		"teams":    {"TEAMS": "a:rabbitmq"},
		"team n":   {"TEAMS": "a:redis:many"},
		"zero ms":  {"KAFKA_UPDATE_DELAY": "0"},
		"radius":   {"RADIUS": "far"},
		"too many": {"TEAMS": "a:redis:1:2:3"},
	} {
		if _, _, err := workerConfig(nil, envOf(vars), io.Discard); err == nil {
			t.Errorf("%s: %v accepted", name, vars)
		}
	}
}

func TestLoadFlags(t *testing.T) {
	cfg, _, report, err := loadConfig(strings.Fields(
		"-workers 500 -teams 50 -managers-per-team 10 -rate 10 -duration 30s -strategy kafka "+
			"-worker-url http://127.0.0.1:8081/tracking/ -manager-url http://127.0.0.1:8082/tracking/,http://127.0.0.1:8083/tracking "+
			"-manager-transport ws -pids 11,12 -pids 13 -report out.json -geofences 10000 -keep-geofences"), envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 500 || cfg.Teams != 50 || cfg.ManagersPerTeam != 10 || cfg.Rate != 10 || cfg.Duration != 30*time.Second ||
		len(cfg.WorkerURLs) != 1 || len(cfg.ManagerURLs) != 2 || cfg.ManagerTransport != simulator.ManagerWebSocket ||
		len(cfg.PIDs) != 3 || cfg.PIDs[2] != 13 || report != "out.json" || cfg.Strategy != "kafka" ||
		cfg.Geofences != 10000 || !cfg.KeepGeofences {
		t.Fatalf("load config %+v report %q", cfg, report)
	}
	// Without URLs: the strategy's path through the gateway.
	cfg, _, _, err = loadConfig([]string{"-strategy", "kafka"}, envOf(map[string]string{"PORT": "8000"}), io.Discard)
	if err != nil || len(cfg.WorkerURLs) != 1 || cfg.WorkerURLs[0] != "http://localhost:8000/tracking/kafka/" {
		t.Fatalf("default URL %v, %v", cfg.WorkerURLs, err)
	}
	if cfg.Workers != 2000 || cfg.Teams != 200 || cfg.ManagersPerTeam != 1 || cfg.Rate != 10 || cfg.Geofences != 0 || cfg.KeepGeofences {
		t.Fatalf("defaults are not reference workload a: %+v", cfg)
	}
	// Count mode, the loss report's metrics, managers' sources and pace.
	cfg, _, _, err = loadConfig(strings.Fields("-workers 10 -teams 1 -managers-per-team 10000 -positions 10 "+
		"-metrics-url http://127.0.0.1:18081/metrics,http://127.0.0.1:18083/metrics -manager-sources 127.0.0.2-127.0.0.41 "+
		"-manager-rate 1000 -manager-no-resume"), envOf(nil), io.Discard)
	if err != nil || cfg.Positions != 10 || len(cfg.MetricsURLs) != 2 || len(cfg.ManagerSources) != 40 ||
		cfg.ManagerSources[39].String() != "127.0.0.41" || cfg.ManagerRate != 1000 || !cfg.ManagerNoResume {
		t.Fatalf("count mode config %+v, %v", cfg, err)
	}
	// Count mode's own bound on sending unless -duration is given.
	if cfg.Duration != 0 {
		t.Fatalf("count mode duration %v, want the library's default", cfg.Duration)
	}
	for _, args := range []string{"-pids x", "-strategy rabbitmq", "-workers 0", "extra", "-geofences -1", "-geofences many",
		"-positions -1", "-manager-sources 127.0.0.9-127.0.0.2", "-manager-sources nowhere"} {
		if _, _, _, err := loadConfig(strings.Fields(args), envOf(nil), io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		} else if flag := strings.Fields(args)[0]; flag != "extra" && !strings.Contains(err.Error(), flag) {
			t.Errorf("%q: error %q does not name %s", args, err, flag)
		}
	}
}

// The README's configuration table documents every variable the simulator
// reads (in either mode), with its default, and nothing it does not read.
func TestREADME(t *testing.T) {
	e := envOf(nil)
	if _, _, err := workerConfig(nil, e, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := loadConfig(nil, e, io.Discard); err != nil {
		t.Fatal(err)
	}
	configtest.CheckREADME(t, "team-simulator", e.Vars())
}

// -ignore-advice and -read-after reach every mode's config.
func TestAdviceFlags(t *testing.T) {
	args := strings.Fields("-ignore-advice -read-after 2s")
	w, _, err := workerConfig(args, envOf(nil), io.Discard)
	if err != nil || !w.IgnoreAdvice || w.ReadAfter != 2*time.Second {
		t.Fatalf("worker config %+v, %v", w, err)
	}
	l, _, _, err := loadConfig(args, envOf(nil), io.Discard)
	if err != nil || !l.IgnoreAdvice || l.ReadAfter != 2*time.Second {
		t.Fatalf("load config %+v, %v", l, err)
	}
	r, _, _, err := roundTripConfig(append(args, "-send-url", "http://b:1/tracking/"), envOf(nil), io.Discard)
	if err != nil || !r.IgnoreAdvice || r.ReadAfter != 2*time.Second || r.SendURL != "http://b:1/tracking/" || r.WorkerURL != "http://localhost:8080/tracking/redis/" {
		t.Fatalf("roundtrip config %+v, %v", r, err)
	}
	if _, _, _, err := roundTripConfig([]string{"-transport", "ndjson"}, envOf(nil), io.Discard); err == nil {
		t.Fatal("roundtrip with POST workers accepted")
	}
}
