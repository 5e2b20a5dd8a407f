package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// DefaultAuthMode is AUTH_MODE when unset: production needs tokens, and a
// replica without a key refuses to start. The local platform sets dev.
const DefaultAuthMode = "jwt"

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
	authMode, authErr := auth.ParseMode(env.String("AUTH_MODE", DefaultAuthMode))
	authSecret := os.Getenv("AUTH_JWT_SECRET") // byte for byte, as the gateway reads it
	jwksURL := env.String("AUTH_JWKS_URL", "")
	authOpts := auth.Options{Issuer: env.String("AUTH_ISSUER", ""), Audience: env.String("AUTH_AUDIENCE", "")}
	open := configure(&env)
	if err := errors.Join(env.Err(), authErr); err != nil {
		return err
	}
	log := NewLogger(level, serviceName)
	authOpts.Logger = log
	verifier, err := auth.NewVerifier(context.Background(), authMode, []byte(authSecret), jwksURL, authOpts)
	if err != nil {
		return fmt.Errorf("auth (AUTH_MODE=%s): %w", authMode, err)
	}
	defer verifier.Close()
	if authMode == auth.ModeNone {
		log.Warn("AUTH_MODE=none: every client may publish as any worker and watch any team")
	} else {
		cfg.API.Verifier = verifier
	}
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
	log.Info("starting", "addr", cfg.HTTPAddr, "consul", consulAddr, "auth", string(authMode))
	return svc.Run(ctx)
}
