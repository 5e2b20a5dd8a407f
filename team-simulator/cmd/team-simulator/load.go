package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/config"
)

// loadConfig reads the load-mode settings: environment first, flags over it.
func loadConfig(args []string, e *config.Env, stderr io.Writer) (simulator.LoadConfig, *common, string, error) {
	fs := flag.NewFlagSet("team-simulator load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: team-simulator load [flags]\n\n"+
			"N workers over T teams send positions; M managers per team watch their team and\n"+
			"measure latency; a summary table goes to stdout, a JSON report to -report.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	c := &common{}
	c.register(fs, e)
	var cfg simulator.LoadConfig
	fs.IntVar(&cfg.Workers, "workers", 2000, "simulated workers, one connection each")
	fs.IntVar(&cfg.Teams, "teams", 200, "teams the workers are spread over")
	fs.IntVar(&cfg.ManagersPerTeam, "managers-per-team", 1, "managers watching each team (0: workers only)")
	fs.IntVar(&cfg.WatchedTeams, "watched-teams", 0, "only the first N teams have managers (0: every team); the report splits the ingest between watched and unwatched teams")
	fs.Float64Var(&cfg.Rate, "rate", 10, "positions per second per worker")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "measurement window")
	fs.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "warm-up after the ramp, before the window")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "longest wait for managers to catch up after the workers stop")
	fs.StringVar(&cfg.Strategy, "strategy", "redis", "redis or kafka: picks the gateway path for the default URLs")
	var workerURLs, managerURLs listValue
	fs.Var(&workerURLs, "worker-url", "base URL(s) workers connect to, comma separated or repeated, round robin\n(default http://HOST:PORT + REDIS_PATH or KAFKA_PATH), e.g. replica A: http://127.0.0.1:8081/tracking/")
	fs.Var(&managerURLs, "manager-url", "base URL(s) managers connect to (default: the worker URLs), e.g. replica B")
	managerTransport := fs.String("manager-transport", "sse", "manager stream: sse or ws")
	fs.IntVar(&cfg.Geofences, "geofences", 0, "create this many fences before the run, spread over its teams, around points\nthe workers pass (needs HISTORY_DSN on the service); deleted at the end")
	fs.BoolVar(&cfg.KeepGeofences, "keep-geofences", false, "leave the -geofences fences in place after the run")
	fs.StringVar(&cfg.TeamPrefix, "team-prefix", "load-", "prefix of the load teams' names")
	fs.IntVar(&cfg.Positions, "positions", 0, "count mode: each worker sends exactly this many positions, all starting together once\nconnected; the report's fanout gives first send to last receipt (-duration bounds the sending, default 10m)")
	var metricsURLs listValue
	fs.Var(&metricsURLs, "metrics-url", "replicas' /metrics URL(s), comma separated or repeated: their counters (conflated, dropped,\npublish errors, rejected...) before and after the run attribute the loss report")
	sources := fs.String("manager-sources", "", "local addresses to spread the managers' connections over: a range 127.0.0.2-127.0.0.9 or a comma list")
	fs.Float64Var(&cfg.ManagerRate, "manager-rate", 0, "managers' connects per second (0: all at once)")
	fs.BoolVar(&cfg.ManagerNoResume, "manager-no-resume", false, "managers restart from the snapshot when their stream reopens, instead of resuming after the last id seen")
	var pids listValue
	fs.Var(&pids, "pids", "server process ids (replicas, broker) to report CPU and peak RSS of, comma separated")
	report := fs.String("report", "", "write the JSON report to this file")
	if err := e.Err(); err != nil {
		return cfg, nil, "", err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, "", err
	}
	if fs.NArg() > 0 {
		return cfg, nil, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Teams <= 0 || cfg.Workers <= 0 {
		return cfg, nil, "", fmt.Errorf("-workers and -teams must be > 0")
	}
	if cfg.Geofences < 0 {
		return cfg, nil, "", fmt.Errorf("-geofences: %d is not a number of fences (>= 0)", cfg.Geofences)
	}
	if cfg.Positions < 0 {
		return cfg, nil, "", fmt.Errorf("-positions: %d is not a number of positions (>= 0; 0: send for -duration)", cfg.Positions)
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if cfg.Positions > 0 && !durationSet {
		cfg.Duration = 0 // count mode's own default
	}
	if len(workerURLs) == 0 {
		u, err := c.strategyURL(cfg.Strategy)
		if err != nil {
			return cfg, nil, "", fmt.Errorf("-strategy: %w", err)
		}
		workerURLs = listValue{u}
	}
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return cfg, nil, "", fmt.Errorf("-pids: %q is not a process id", p)
		}
		cfg.PIDs = append(cfg.PIDs, pid)
	}
	cfg.WorkerURLs, cfg.ManagerURLs, cfg.MetricsURLs = workerURLs, managerURLs, metricsURLs
	var err error
	if cfg.ManagerSources, err = parseSources(*sources); err != nil {
		return cfg, nil, "", fmt.Errorf("-manager%w", err)
	}
	cfg.WorkerTransport = simulator.Transport(c.transport)
	cfg.ManagerTransport = simulator.ManagerTransport(strings.ToLower(*managerTransport))
	cfg.Movement, cfg.Seed, cfg.Ramp = c.movement(), c.seedOrRandom(), c.ramp
	cfg.IgnoreAdvice, cfg.ReadAfter = c.ignoreAdvice, c.readAfter
	a, err := c.auth()
	if err != nil {
		return cfg, nil, "", err
	}
	cfg.Auth = a
	return cfg, c, *report, nil
}

func runLoad(ctx context.Context, args []string, getenv func(string) string, out output) int {
	cfg, c, reportPath, err := loadConfig(args, config.Getenv(getenv), out.stderr)
	if err != nil {
		return usageError(out, err)
	}
	log, status, stopProfile, err := out.setup(c, cfg.Auth)
	if err != nil {
		return usageError(out, err)
	}
	defer stopProfile()
	cfg.Logger, cfg.Status = log, status
	r, err := simulator.RunLoad(ctx, cfg)
	if err != nil {
		return usageError(out, err)
	}
	return writeReport(out, log, r, reportPath)
}

// report is what a mode measures: a table for the terminal, JSON for files.
type report interface {
	WriteTable(w io.Writer) error
	WriteJSON(path string) error
}

// writeReport writes r as a table on stdout and, with a path, as JSON; the
// exit code.
func writeReport(out output, log *slog.Logger, r report, path string) int {
	fmt.Fprintln(out.stdout)
	if err := r.WriteTable(out.stdout); err != nil {
		log.Error("write report", "err", err)
		return 1
	}
	if path != "" {
		if err := r.WriteJSON(path); err != nil {
			log.Error("write report", "err", err)
			return 1
		}
		log.Info("report written", "path", path)
	}
	return 0
}
