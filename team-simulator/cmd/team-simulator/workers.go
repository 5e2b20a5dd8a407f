package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/config"
)

// strategyDefaults are the per-strategy worker count and delay of the
// reference simulator (REDIS_WORKERS, REDIS_UPDATE_DELAY, ...).
type strategyDefaults struct {
	workers int
	delay   time.Duration
}

// workerConfig reads the worker-mode settings: environment first, flags over it.
func workerConfig(args []string, e *config.Env, stderr io.Writer) (simulator.Config, *common, error) {
	fs := flag.NewFlagSet("team-simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: team-simulator [flags]        simulated workers streaming positions\n"+
			"       team-simulator load [flags]   load test with workers and managers (team-simulator load -h)\n"+
			"       team-simulator roundtrip [flags]   message round trip: POST to the worker's ack on a manager stream\n\nFlags (each mirrors the environment variable in parentheses):\n")
		fs.PrintDefaults()
	}
	c := &common{}
	c.register(fs, e)
	redisWorkers := fs.Int("redis-workers", count(e, "REDIS_WORKERS", 95), "workers per Redis team (REDIS_WORKERS)")
	kafkaWorkers := fs.Int("kafka-workers", count(e, "KAFKA_WORKERS", 80), "workers per Kafka team (KAFKA_WORKERS)")
	redisDelay := &millisValue{e.Millis("REDIS_UPDATE_DELAY", 550*time.Millisecond)}
	fs.Var(redisDelay, "redis-update-delay", "ms between two positions of a Redis worker (REDIS_UPDATE_DELAY)")
	kafkaDelay := &millisValue{e.Millis("KAFKA_UPDATE_DELAY", 550*time.Millisecond)}
	fs.Var(kafkaDelay, "kafka-update-delay", "ms between two positions of a Kafka worker (KAFKA_UPDATE_DELAY)")
	teams := fs.String("teams", e.String("TEAMS", "team_one:redis,team_two:kafka"),
		"teams, comma separated, each name[:strategy[:workers[:delay ms]]]; workers and delay default to the strategy's (TEAMS)")
	if err := e.Err(); err != nil {
		return simulator.Config{}, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return simulator.Config{}, nil, err
	}
	if fs.NArg() > 0 {
		return simulator.Config{}, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *redisWorkers < 0 || *kafkaWorkers < 0 {
		return simulator.Config{}, nil, fmt.Errorf("worker counts must be >= 0")
	}
	specs, err := parseTeams(*teams, map[string]strategyDefaults{
		"redis": {*redisWorkers, redisDelay.d},
		"kafka": {*kafkaWorkers, kafkaDelay.d},
	})
	if err != nil {
		return simulator.Config{}, nil, err
	}
	a, err := c.auth()
	if err != nil {
		return simulator.Config{}, nil, err
	}
	cfg := simulator.Config{Movement: c.movement(), Seed: c.seedOrRandom(), Ramp: c.ramp, Auth: a,
		IgnoreAdvice: c.ignoreAdvice, ReadAfter: c.readAfter}
	for _, s := range specs {
		u, err := c.strategyURL(s.strategy)
		if err != nil {
			return simulator.Config{}, nil, fmt.Errorf("team %s: %w", s.name, err)
		}
		cfg.Teams = append(cfg.Teams, simulator.Team{
			Name: s.name, Workers: s.workers, Interval: s.delay, URL: u, Transport: simulator.Transport(c.transport),
		})
	}
	return cfg, c, nil
}

type teamSpec struct {
	name, strategy string
	workers        int
	delay          time.Duration
}

// parseTeams reads a list of name[:strategy[:workers[:delay]]]. A missing
// strategy is redis; missing workers and delay are the strategy's defaults.
func parseTeams(list string, defaults map[string]strategyDefaults) ([]teamSpec, error) {
	var out []teamSpec
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f := strings.Split(item, ":")
		if len(f) > 4 {
			return nil, fmt.Errorf("team %q: want name[:strategy[:workers[:delay ms]]]", item)
		}
		s := teamSpec{name: f[0], strategy: "redis"}
		if len(f) > 1 && f[1] != "" {
			s.strategy = f[1]
		}
		d, ok := defaults[s.strategy]
		if !ok {
			return nil, fmt.Errorf("team %q: unknown strategy %q (want redis or kafka)", item, s.strategy)
		}
		s.workers, s.delay = d.workers, d.delay
		var err error
		if len(f) > 2 && f[2] != "" {
			if s.workers, err = parseCount(f[2]); err != nil {
				return nil, fmt.Errorf("team %q: workers: %w", item, err)
			}
		}
		if len(f) > 3 && f[3] != "" {
			if s.delay, err = parseMillis(f[3]); err != nil {
				return nil, fmt.Errorf("team %q: delay: %w", item, err)
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no teams in %q", list)
	}
	return out, nil
}

func runWorkers(ctx context.Context, args []string, getenv func(string) string, out output) int {
	cfg, c, err := workerConfig(args, config.Getenv(getenv), out.stderr)
	if err != nil {
		return usageError(out, err)
	}
	log, status, stopProfile, err := out.setup(c, cfg.Auth)
	if err != nil {
		return usageError(out, err)
	}
	defer stopProfile()
	cfg.Logger, cfg.Status = log, status
	sim, err := simulator.New(cfg)
	if err != nil {
		return usageError(out, err)
	}
	if err := sim.Run(ctx); err != nil {
		log.Error("simulator failed", "err", err)
		return 1
	}
	return 0
}

// count reads a number of workers. The reference simulator used the
// variable's string as an array length, so REDIS_WORKERS=95 gave one worker:
// here it is parsed as a number, and anything that is not one is refused,
// never guessed.
func count(e *config.Env, name string, def int) int {
	return config.Func(e, name, def, strconv.Itoa(def), "a whole number >= 0", parseCount)
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a whole number >= 0", s)
	}
	return n, nil
}

// parseMillis reads a delay: whole milliseconds (the reference form, "550")
// or a Go duration ("550ms", "1s").
func parseMillis(s string) (time.Duration, error) {
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither milliseconds nor a duration > 0", s)
	}
	return d, nil
}
