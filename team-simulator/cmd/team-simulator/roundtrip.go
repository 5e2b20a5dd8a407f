package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/config"
)

// roundTripConfig reads the round-trip settings: environment first, flags over it.
func roundTripConfig(args []string, e *config.Env, stderr io.Writer) (simulator.RoundTripConfig, *common, string, error) {
	fs := flag.NewFlagSet("team-simulator roundtrip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: team-simulator roundtrip [flags]\n\n"+
			"N WebSocket workers of one team report (on -worker-url) and ack the messages they get;\n"+
			"messages are POSTed to them one recipient at a time (on -send-url) while a manager stream\n"+
			"(on -watch-url) shows their delivery events. Measures, per message, the start of its POST\n"+
			"to its acked event: p50/p90/p99/max, and the messages not acked within -timeout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	c := &common{}
	c.register(fs, e)
	var cfg simulator.RoundTripConfig
	fs.StringVar(&cfg.Team, "team", "roundtrip", "team of the workers")
	fs.IntVar(&cfg.Workers, "workers", 10, "simulated workers (WebSocket), the messages' recipients round robin")
	interval := &millisValue{e.Millis("REDIS_UPDATE_DELAY", 550*time.Millisecond)}
	fs.Var(interval, "interval", "ms between two positions of a worker until advice comes (REDIS_UPDATE_DELAY)")
	fs.IntVar(&cfg.Messages, "messages", 100, "messages to send")
	fs.Float64Var(&cfg.Rate, "rate", 5, "messages per second")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "a message not acked on the stream this long after its POST started counts as not acked")
	fs.StringVar(&cfg.WorkerURL, "worker-url", "", "base URL workers connect to (default http://HOST:PORT + REDIS_PATH), e.g. replica A: http://127.0.0.1:8081/tracking/")
	fs.StringVar(&cfg.SendURL, "send-url", "", "base URL messages are POSTed to (default: the worker URL), e.g. replica B")
	fs.StringVar(&cfg.WatchURL, "watch-url", "", "base URL of the manager stream that shows the delivery events (default: the send URL)")
	watch := fs.String("watch-transport", "sse", "manager stream: sse or ws")
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
	if cfg.Workers <= 0 || cfg.Messages <= 0 {
		return cfg, nil, "", fmt.Errorf("-workers and -messages must be > 0")
	}
	if c.transport != "ws" {
		return cfg, nil, "", fmt.Errorf("-transport %s: the round trip needs WebSocket workers (a POST cannot receive messages)", c.transport)
	}
	if cfg.WorkerURL == "" {
		u, err := c.strategyURL("redis")
		if err != nil {
			return cfg, nil, "", err
		}
		cfg.WorkerURL = u
	}
	cfg.Interval = interval.d
	cfg.WatchTransport = simulator.ManagerTransport(strings.ToLower(*watch))
	cfg.Movement, cfg.Seed, cfg.Ramp = c.movement(), c.seedOrRandom(), c.ramp
	cfg.IgnoreAdvice, cfg.ReadAfter = c.ignoreAdvice, c.readAfter
	a, err := c.auth()
	if err != nil {
		return cfg, nil, "", err
	}
	cfg.Auth = a
	return cfg, c, *report, nil
}

func runRoundTrip(ctx context.Context, args []string, getenv func(string) string, out output) int {
	cfg, c, reportPath, err := roundTripConfig(args, config.Getenv(getenv), out.stderr)
	if err != nil {
		return usageError(out, err)
	}
	log, status, stopProfile, err := out.setup(c, cfg.Auth)
	if err != nil {
		return usageError(out, err)
	}
	defer stopProfile()
	cfg.Logger, cfg.Status = log, status
	r, err := simulator.RunRoundTrip(ctx, cfg)
	if err != nil {
		return usageError(out, err)
	}
	return writeReport(out, log, r, reportPath)
}
