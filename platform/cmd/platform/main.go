// Command platform runs the whole tracking platform on this machine: see the
// README's quick start (scripts/run-local.sh builds everything and runs it).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/teamtrack/platform"
	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/config"
)

func main() {
	if buildinfo.PrintIfAsked(os.Args[1:], os.Stdout, "platform") {
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(1)
	}
}

// readConfig reads the local run's environment (see the README's
// configuration table).
func readConfig(e *config.Env) platform.Config {
	d := platform.Config{}.WithDefaults()
	return platform.Config{
		BinDir:       e.String("BIN_DIR", d.BinDir),
		LogDir:       e.String("PLATFORM_LOG_DIR", d.LogDir),
		RedisAddr:    e.String("REDIS_ADDR", ""),
		KafkaBrokers: e.String("KAFKA_BROKERS", ""),
		ConsulAddr:   e.String("CONSUL_HTTP_ADDR", ""),
		HistoryDSN:   e.String("HISTORY_DSN", ""),
		GatewayPort:  e.Int("GATEWAY_PORT", d.GatewayPort),
		Replicas:     e.Int("REPLICAS", d.Replicas),
		Simulator:    e.String("SIMULATOR", "on") != "off",
		// Unset AUTH_MODE: mode dev with a secret made for this run.
		Auth: platform.Auth{
			Mode:       e.String("AUTH_MODE", ""),
			Secret:     e.Secret("AUTH_JWT_SECRET"),
			SecretFile: e.String("AUTH_JWT_SECRET_FILE", ""),
			JWKSURL:    e.String("AUTH_JWKS_URL", ""),
		},
		Out: os.Stdout,
	}
}

func run() error {
	env := config.New(nil)
	cfg := readConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := platform.Start(ctx, cfg)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://localhost:%d/?strategy=redis&team=team_one", cfg.GatewayPort)
	fmt.Printf("[platform] up: open %s (Ctrl-C stops everything)\n", url)
	openBrowser(url)
	err = p.Wait(ctx)
	p.Stop()
	fmt.Println("[platform] stopped")
	return err
}

// openBrowser opens url when a desktop session is there to show it.
func openBrowser(url string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	if path, err := exec.LookPath("xdg-open"); err == nil {
		cmd := exec.Command(path, url)
		if cmd.Start() == nil {
			go func() { _ = cmd.Wait() }()
		}
	}
}
