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
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
)

// Opener starts a strategy's Broadcaster once configuration is known to be
// valid; ctx ends with a shutdown signal.
type Opener func(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (tracking.Broadcaster, error)

// Main is the body of a strategy binary: it reads the shared settings
// (ReadSettings, HTTP_ADDR defaulting to defAddr), lets configure read the
// strategy's own from env and return its Opener, reports every configuration
// error at once, then runs the replica registered as serviceName until
// SIGINT or SIGTERM.
func Main(serviceName, defAddr string, configure func(env *config.Env) Opener) error {
	env := config.New(nil)
	s := ReadSettings(env, defAddr)
	open := configure(env)
	if err := env.Err(); err != nil {
		return err
	}
	cfg := s.Config
	log := NewLogger(s.LogLevel, serviceName)
	verifier, err := s.Auth.NewVerifier(context.Background(), log)
	if err != nil {
		return err
	}
	defer verifier.Close()
	if s.Auth.Mode == auth.ModeNone {
		log.Warn("AUTH_MODE=none: every client may publish as any worker and watch any team")
	} else {
		cfg.API.Verifier = verifier
	}
	cfg.Logger = log
	cfg.Registry = NewRegistry()
	cfg.Register = ConsulRegistration(s.ConsulAddr, serviceName, s.AdvertiseHost, log)

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
	log.Info("starting", "addr", cfg.HTTPAddr, "consul", s.ConsulAddr, "auth", string(s.Auth.Mode))
	return svc.Run(ctx)
}
