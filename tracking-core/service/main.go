package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/devices/devicesdb"
	"github.com/teamtrack/tracking-core/discovery"
	"github.com/teamtrack/tracking-core/messaging/messagingdb"
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
	if buildinfo.PrintIfAsked(os.Args[1:], os.Stdout, filepath.Base(os.Args[0])) {
		return nil
	}
	env := config.New(nil)
	s := ReadSettings(env, defAddr)
	open := configure(env)
	if err := env.Err(); err != nil {
		return err
	}
	cfg := s.Config
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: s.LogLevel})).With("service", serviceName)
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
	if s.ConsulAddr != "" {
		// Registered as serviceName, reachable at AdvertiseHost (default: see
		// discovery.RegisterConfig.Address) on the port it listens on.
		cfg.Register = func(ctx context.Context, addr *net.TCPAddr) (func(context.Context) error, error) {
			reg, err := discovery.Register(ctx, discovery.RegisterConfig{
				ConsulAddr: s.ConsulAddr, Service: serviceName, Address: s.AdvertiseHost, Port: addr.Port, Logger: log,
			})
			if err != nil {
				return nil, err
			}
			return reg.Deregister, nil
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if s.History.DSN != "" {
		closeHistory, w, err := openHistory(ctx, s.History, log, cfg.Registry)
		if err != nil {
			return err
		}
		// Deferred before Run: the history closes (flushing what waits)
		// after the replica has stopped taking records in.
		defer closeHistory()
		cfg.API.History = w
		// Deferred after the history: it closes before (LIFO), once the
		// replica has stopped.
		closeAlerts, alerts, err := openAlerts(ctx, s.History.DSN, s.Webhooks, s.Push, s.History.Retention, log, cfg.Registry)
		if err != nil {
			return err
		}
		defer closeAlerts()
		cfg.API.Alerts = alerts
		msgs, err := messagingdb.Open(ctx, s.History.DSN, log.With("component", "dispatch"))
		if err != nil {
			return fmt.Errorf("HISTORY_DSN (messages): %w", err)
		}
		defer func() { _ = msgs.Close() }()
		cfg.Messages, cfg.MessagesKeep = msgs, s.History.Retention
		devs, err := devicesdb.Open(ctx, s.History.DSN, log.With("component", "devices"))
		if err != nil {
			return fmt.Errorf("HISTORY_DSN (devices): %w", err)
		}
		defer func() { _ = devs.Close() }()
		cfg.API.Devices = devs
	} else {
		log.Info("HISTORY_DSN is unset: no durable history, alerts, webhooks, Web Push, messages to workers or the device registry (their routes answer 501)")
	}
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
