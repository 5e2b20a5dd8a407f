package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/config"
)

type idleArgs struct {
	cfg       simulator.IdleConfig
	c         *common
	report    string
	readyFile string
}

// idleConfig reads the idle settings: environment first, flags over it.
func idleConfig(args []string, e *config.Env, stderr io.Writer) (idleArgs, error) {
	fs := flag.NewFlagSet("team-simulator idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: team-simulator idle [flags]\n\n"+
			"Holds -conns idle connections of one kind open on -url (answering pings, reading\n"+
			"heartbeats), spread over -sources, for -hold or until interrupted; for measuring the\n"+
			"server's memory per connection (scripts/bench-idle.sh). A process can hold about as\n"+
			"many as its open-file limit allows: run several for more.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	a := idleArgs{c: &common{}}
	a.c.register(fs, e)
	kind := fs.String("kind", "worker-ws", "connections: worker-ws, manager-sse or manager-ws")
	fs.IntVar(&a.cfg.Conns, "conns", 1000, "connections to hold")
	fs.StringVar(&a.cfg.URL, "url", "", "tracking base URL (default http://HOST:PORT + REDIS_PATH), e.g. http://127.0.0.1:18081/tracking/")
	sources := fs.String("sources", "", "local addresses to spread the connections over: a range 127.0.0.2-127.0.0.9 or a comma list (default: the system's choice)")
	fs.IntVar(&a.cfg.Teams, "teams", 100, "teams (quiet ones: nobody sends positions on them)")
	fs.BoolVar(&a.cfg.FirstPosition, "first-position", false, "worker-ws: each worker sends one position once connected, then nothing (a worker between positions)")
	fs.StringVar(&a.cfg.IDPrefix, "id-prefix", "idle", "prefix of worker and team names (unique per process)")
	fs.Float64Var(&a.cfg.Rate, "rate", 2000, "new connections per second")
	fs.DurationVar(&a.cfg.Hold, "hold", 0, "how long to hold them once all are open (0: until interrupted)")
	fs.StringVar(&a.report, "report", "", "write the JSON report to this file")
	fs.StringVar(&a.readyFile, "ready-file", "", "write the counts (JSON) to this file once every connection is open or failed")
	if err := e.Err(); err != nil {
		return a, err
	}
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	a.cfg.Kind = simulator.IdleKind(strings.ToLower(*kind))
	srcs, err := parseSources(*sources)
	if err != nil {
		return a, err
	}
	a.cfg.Sources = srcs
	if a.cfg.URL == "" {
		u, err := a.c.strategyURL("redis")
		if err != nil {
			return a, err
		}
		a.cfg.URL = u
	}
	if a.cfg.Auth, err = a.c.auth(); err != nil {
		return a, err
	}
	return a, nil
}

// parseSources reads "A-B" (an IPv4 range) or "A,B,C".
func parseSources(s string) ([]netip.Addr, error) {
	if s == "" {
		return nil, nil
	}
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("-sources %q: want an IPv4 range low-high, e.g. 127.0.0.2-127.0.0.9", s)
		}
		var out []netip.Addr
		for x := a; x.Compare(b) <= 0 && len(out) < 65536; x = x.Next() {
			out = append(out, x)
		}
		return out, nil
	}
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-sources: %q is not an IP address", f)
		}
		out = append(out, a)
	}
	return out, nil
}

func runIdle(ctx context.Context, args []string, getenv func(string) string, out output) int {
	a, err := idleConfig(args, config.Getenv(getenv), out.stderr)
	if err != nil {
		return usageError(out, err)
	}
	log, err := out.logger(a.c)
	if err != nil {
		return usageError(out, err)
	}
	if w := a.c.authWarning(a.cfg.Auth); w != "" {
		log.Warn(w)
	}
	a.cfg.Logger = log
	writeJSON := func(path string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o644)
	}
	if a.readyFile != "" {
		a.cfg.Ready = func(r simulator.IdleReport) {
			if err := writeJSON(a.readyFile, r); err != nil {
				log.Error("write the ready file", "err", err)
			}
		}
	}
	started := time.Now()
	r, err := simulator.RunIdle(ctx, a.cfg)
	if err != nil && ctx.Err() == nil {
		return usageError(out, err)
	}
	fmt.Fprintf(out.stdout, "%s: %d wanted, %d open at the end, %d failed, %d closed by the server, %d hints, %d pings (%s)\n",
		r.Kind, r.Wanted, r.Open, r.Failed, r.Closed, r.Hints, r.Pings, time.Since(started).Round(time.Second))
	if r.FirstErr != "" {
		fmt.Fprintf(out.stdout, "first error: %s\n", r.FirstErr)
	}
	if a.report != "" {
		if err := writeJSON(a.report, r); err != nil {
			log.Error("write report", "err", err)
			return 1
		}
	}
	if r.Failed > 0 || r.Closed > 0 {
		return 1
	}
	return 0
}
