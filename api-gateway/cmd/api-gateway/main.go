// Command api-gateway is the platform's edge: it routes /tracking/redis/** and
// /tracking/kafka/** to the healthy replicas of each strategy (from Consul, or
// a static list without it) and serves the map view. Configuration comes from
// the environment; see config.go and the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teamtrack/api-gateway/gateway"
	"github.com/teamtrack/api-gateway/redact"
	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/discovery"
)

func main() {
	if buildinfo.PrintIfAsked(os.Args[1:], os.Stdout, "api-gateway") {
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "api-gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	env := config.New(nil)
	cfg := readSettings(env)
	if err := env.Err(); err != nil {
		return err
	}
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	slog.SetDefault(log)
	gin.SetMode(gin.ReleaseMode)

	verifier, devIssuer, err := newAuth(context.Background(), cfg, log)
	if err != nil {
		return err
	}
	defer verifier.Close()
	logAuthMode(log, cfg)

	resolver, err := newResolver(cfg, log)
	if err != nil {
		return err
	}
	defer resolver.Close() // after the server has stopped

	viewHandler, err := view.New(cfg.View) // the embedded map view, or a page telling how to build it
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{
		Resolver:       resolver,
		Services:       cfg.services(),
		AuthMode:       cfg.Auth.Mode,
		Verifier:       verifier,
		DevIssuer:      devIssuer,
		View:           viewHandler,
		AllowedOrigins: cfg.AllowedOrigins,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	defer gw.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Requests (and the streams they carry) live under baseCtx, so a forced
	// shutdown can end the ones still open, hijacked WebSockets included.
	baseCtx, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout/WriteTimeout: uploads and streams last minutes.
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return baseCtx },
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("api-gateway listening", "addr", ln.Addr().String(), "discovery", cfg.discoveryName(), "auth_mode", cfg.Auth.Mode)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills at once
	shutdown(log, srv, gw, cancelAll, cfg.ShutdownTimeout)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("api-gateway stopped")
	return nil
}

// shutdown stops accepting, lets open requests and streams end for up to
// timeout, then ends the rest (the replicas' clients reconnect).
func shutdown(log *slog.Logger, srv *http.Server, gw *gateway.Gateway, cancelAll context.CancelFunc, timeout time.Duration) {
	log.Info("shutting down: no new connections; waiting for open streams", "timeout", timeout.String())
	gw.SetDraining()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err == nil {
		return
	}
	log.Warn("streams still open after the shutdown timeout; closing them")
	cancelAll()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := srv.Shutdown(ctx2); err != nil {
		_ = srv.Close()
	}
}

func newResolver(cfg settings, log *slog.Logger) (discovery.Resolver, error) {
	svcs := cfg.services()
	switch cfg.Discovery {
	case "consul":
		return discovery.NewConsul(discovery.ConsulConfig{Addr: cfg.ConsulAddr, Services: slices.Sorted(maps.Values(svcs)), EmptyGrace: cfg.EmptyGrace, Logger: log})
	case "dns":
		names := map[string]string{}
		for st, name := range map[string]string{"redis": cfg.RedisDNS, "kafka": cfg.KafkaDNS} {
			if svc, ok := svcs[st]; ok {
				names[svc] = name
			}
		}
		return discovery.NewDNS(discovery.DNSConfig{Names: names, Interval: cfg.DNSInterval, Logger: log})
	}
	static := map[string][]string{}
	for st, addrs := range map[string][]string{"redis": cfg.RedisAddrs, "kafka": cfg.KafkaAddrs} {
		if svc, ok := svcs[st]; ok {
			static[svc] = addrs
		}
	}
	return discovery.NewStatic(static)
}
