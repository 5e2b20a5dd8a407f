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
	"github.com/teamtrack/tracking-core/service"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(1)
	}
}

func run() error {
	var env service.Env
	cfg := platform.Config{
		BinDir:       env.String("BIN_DIR", "bin"),
		LogDir:       env.String("PLATFORM_LOG_DIR", ".tmp/platform"),
		RedisAddr:    env.String("REDIS_ADDR", ""),
		KafkaBrokers: env.String("KAFKA_BROKERS", ""),
		ConsulAddr:   env.String("CONSUL_HTTP_ADDR", ""),
		GatewayPort:  env.Int("GATEWAY_PORT", 8080),
		Replicas:     env.Int("REPLICAS", 2),
		Simulator:    env.String("SIMULATOR", "on") != "off",
		// Unset AUTH_MODE: mode dev with a secret made for this run.
		Auth: platform.Auth{
			Mode:    env.String("AUTH_MODE", ""),
			Secret:  env.String("AUTH_JWT_SECRET", ""),
			JWKSURL: env.String("AUTH_JWKS_URL", ""),
		},
		Out: os.Stdout,
	}
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
