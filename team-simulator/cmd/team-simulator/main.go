// Command team-simulator streams the positions of simulated field workers to
// the tracking service, and load-tests it with simulated managers
// (team-simulator load). See the README for the settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	simulator "github.com/teamtrack/team-simulator"
	"github.com/teamtrack/tracking-core/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the streams close cleanly; a second one kills.
	context.AfterFunc(ctx, stop)
	out := output{stdout: os.Stdout, stderr: os.Stderr, terminal: isTerminal(os.Stdout)}
	code := run(ctx, os.Args[1:], os.Getenv, out)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, out output) int {
	if buildinfo.PrintIfAsked(args, out.stdout, "team-simulator") {
		return 0
	}
	if len(args) > 0 {
		switch args[0] {
		case "load":
			return runLoad(ctx, args[1:], getenv, out)
		case "roundtrip":
			return runRoundTrip(ctx, args[1:], getenv, out)
		case "idle":
			return runIdle(ctx, args[1:], getenv, out)
		}
	}
	return runWorkers(ctx, args, getenv, out)
}

// output is where the command writes: the status line and the report to
// stdout, logs to stderr.
type output struct {
	stdout, stderr io.Writer
	terminal       bool // stdout is a terminal
}

func (o output) logger(c *common) (*slog.Logger, error) {
	level, err := c.logLevelValue()
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: level})), nil
}

// status draws a line in place on a terminal, and logs otherwise.
func (o output) status(c *common) simulator.Status {
	s := simulator.Status{Interval: c.statusInterval}
	if o.terminal {
		s.Terminal, s.Out = true, o.stdout
	}
	return s
}

// profile starts the CPU profile that -cpuprofile asks for; the returned
// function stops it.
func profile(c *common, log *slog.Logger) (stop func(), err error) {
	if c.cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(c.cpuProfile)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Error("cpu profile", "err", err)
		}
	}, nil
}

// setup is what both modes do before they run: the logger, the status
// output, the auth warning and the optional CPU profile (stop it when done).
func (o output) setup(c *common, a simulator.Auth) (log *slog.Logger, status simulator.Status, stop func(), err error) {
	if log, err = o.logger(c); err != nil {
		return nil, simulator.Status{}, nil, err
	}
	if w := c.authWarning(a); w != "" {
		log.Warn(w)
	}
	if stop, err = profile(c, log); err != nil {
		return nil, simulator.Status{}, nil, err
	}
	return log, o.status(c), stop, nil
}

func usageError(o output, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(o.stderr, "team-simulator:", err)
	return 2
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
