package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
)

// Opener starts a strategy's Broadcaster once configuration is known to be
// valid; ctx ends with a shutdown signal.
type Opener func(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (tracking.Broadcaster, error)

// Main is the body of a strategy binary: it reads the shared configuration
// (HTTP_ADDR with default defAddr, CONSUL_HTTP_ADDR, ADVERTISE_HOST,
// LOG_LEVEL and ServiceFromEnv's), lets configure read the strategy's own from
// env and return its Opener, reports every configuration error at once, then
// runs the replica registered as serviceName until SIGINT or SIGTERM.
func Main(serviceName, defAddr string, configure func(env *Env) Opener) error {
	var env Env
	cfg := ServiceFromEnv(&env, defAddr)
	consulAddr := env.String("CONSUL_HTTP_ADDR", "")
	advertiseHost := env.String("ADVERTISE_HOST", "")
	level := env.Level("LOG_LEVEL")
	open := configure(&env)
	if err := env.Err(); err != nil {
		return err
	}
	log := NewLogger(level, serviceName)
	cfg.Logger = log
	cfg.Registry = NewRegistry()
	cfg.Register = ConsulRegistration(consulAddr, serviceName, advertiseHost, log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := open(ctx, log, cfg.Registry)
	if err != nil {
		return fmt.Errorf("open broadcaster: %w", err)
	}
	svc, err := New(cfg, b)
	if err != nil {
		_ = b.Close()
		return err
	}
	log.Info("starting", "addr", cfg.HTTPAddr, "consul", consulAddr)
	return svc.Run(ctx)
}
