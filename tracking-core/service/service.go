package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/dispatch"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/sampling"
)

// Config of one replica.
type Config struct {
	// HTTPAddr is the listen address. Default ":8081".
	HTTPAddr string
	// ShutdownTimeout bounds the drain of connections on shutdown. Default 15s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds the reading of request headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// API tunes the handlers; its Logger and metrics are filled in here.
	API httpapi.Config
	// ResumeLimit is the most positions a resuming manager stream is sent to
	// catch up (hub.Config.ResumeLimit). Default 10,000.
	ResumeLimit int
	// Register, when set, is called once the listener is up, with its address;
	// the function it returns deregisters and is called first on shutdown.
	Register func(ctx context.Context, addr *net.TCPAddr) (deregister func(context.Context) error, err error)
	// Messages keeps the dispatch messages to workers (HISTORY_DSN's
	// database); the replica sends and delivers them through its
	// Broadcaster's Mailbox. Nil: no messages (their routes answer 501).
	// The caller closes it after Run.
	Messages messaging.Store
	// MessagesKeep is how long a message stays queryable after its ttl
	// (HISTORY_RETENTION). Default 7 days.
	MessagesKeep time.Duration
	// Sampling, when set, turns the sampling advice on (the binaries set it
	// from SAMPLING_*); its Mailbox, replica name, logger and registry are
	// filled in here. It needs a Broadcaster that carries mail. Nil: no
	// advice (workers report as they please).
	Sampling *sampling.Config
	// OsmAndAddr, when set, serves the OsmAnd protocol alone on its own
	// listener, on any path (OSMAND_ADDR): Traccar Client's users type a
	// host and port. Default: off (/osmand on HTTPAddr serves it anyway).
	OsmAndAddr string
	// DebugAddr, when set, serves net/http/pprof on its own listener (keep it
	// on loopback). Default: off.
	DebugAddr string
	// Logger receives the service's logs. Default: discard.
	Logger *slog.Logger
	// Registry receives every metric of the replica and serves /metrics.
	// Default: a new registry with the Go and process collectors.
	Registry *prometheus.Registry
}

// Service is one running replica.
type Service struct {
	cfg  Config
	b    tracking.Broadcaster
	ln   net.Listener
	hub  *hub.Hub
	api  *httpapi.API
	srv  *http.Server
	log  *slog.Logger
	disp *dispatch.Dispatcher // nil without Messages
	adv  *sampling.Advisor    // nil without advice
	osm  *http.Server         // nil without OsmAndAddr
	osmL net.Listener
}

// New listens on cfg.HTTPAddr and prepares the replica over b, which the
// Service owns from now on (Run closes it).
func New(cfg Config, b tracking.Broadcaster) (*Service, error) {
	cfg.setDefaults()
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	var osmL net.Listener
	if cfg.OsmAndAddr != "" {
		if osmL, err = net.Listen("tcp", cfg.OsmAndAddr); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("OSMAND_ADDR: listen on %s: %w", cfg.OsmAndAddr, err)
		}
	}
	h := hub.New(b, hub.Config{Logger: cfg.Logger, Registerer: cfg.Registry, ResumeLimit: cfg.ResumeLimit})
	apiCfg := cfg.API
	apiCfg.Logger, apiCfg.Registerer, apiCfg.Gatherer = cfg.Logger, cfg.Registry, cfg.Registry
	disp, err := newDispatcher(cfg, b)
	if err != nil {
		closeListeners(ln, osmL)
		h.Close()
		return nil, err
	}
	apiCfg.Dispatch = disp
	apiCfg.Replica = cmp.Or(apiCfg.Replica, httpapi.ReplicaName())
	adv, err := newAdvisor(cfg, apiCfg.Replica, b)
	if err != nil {
		closeListeners(ln, osmL)
		h.Close()
		if disp != nil {
			disp.Close()
		}
		return nil, err
	}
	if adv != nil {
		apiCfg.Advisor = adv
	}
	api := httpapi.New(apiCfg, b, h)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	svc := &Service{cfg: cfg, b: b, ln: ln, hub: h, api: api, srv: srv, log: cfg.Logger, disp: disp, adv: adv}
	if osmL != nil {
		svc.osmL = osmL
		svc.osm = &http.Server{Handler: api.OsmAnd(), ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	}
	return svc, nil
}

// OsmAndAddr is the address of the OsmAnd listener; nil without one.
func (s *Service) OsmAndAddr() *net.TCPAddr {
	if s.osmL == nil {
		return nil
	}
	return s.osmL.Addr().(*net.TCPAddr)
}

// newAdvisor starts the sampling advice over b's Mailbox; nil when it is
// off or b carries no mail.
func newAdvisor(cfg Config, replica string, b tracking.Broadcaster) (*sampling.Advisor, error) {
	if cfg.Sampling == nil {
		return nil, nil
	}
	mb, ok := b.(tracking.Mailbox)
	if !ok {
		cfg.Logger.Warn("no sampling advice: the broadcaster carries no mail", "broadcaster", fmt.Sprintf("%T", b))
		return nil, nil
	}
	sc := *cfg.Sampling
	sc.Mailbox, sc.Replica, sc.Logger, sc.Registerer = mb, replica, cfg.Logger.With("component", "sampling"), cfg.Registry
	return sampling.New(sc)
}

func closeListeners(lns ...net.Listener) {
	for _, l := range lns {
		if l != nil {
			_ = l.Close()
		}
	}
}

// newDispatcher starts the dispatch of messages over cfg.Messages and b's
// Mailbox; nil without a store.
func newDispatcher(cfg Config, b tracking.Broadcaster) (*dispatch.Dispatcher, error) {
	if cfg.Messages == nil {
		return nil, nil
	}
	mb, ok := b.(tracking.Mailbox)
	if !ok {
		return nil, fmt.Errorf("messages to workers need a Broadcaster that carries mail; %T does not", b)
	}
	return dispatch.New(dispatch.Config{Store: cfg.Messages, Mailbox: mb, Publish: b.Publish, Last: b.Last,
		Keep: cfg.MessagesKeep, Logger: cfg.Logger.With("component", "dispatch"), Registerer: cfg.Registry})
}

// setDefaults: cmp.Or(max(v, 0), d) is d for a zero or negative v.
func (cfg *Config) setDefaults() {
	cfg.HTTPAddr = cmp.Or(cfg.HTTPAddr, ":8081")
	cfg.ShutdownTimeout = cmp.Or(max(cfg.ShutdownTimeout, 0), 15*time.Second)
	cfg.ReadHeaderTimeout = cmp.Or(max(cfg.ReadHeaderTimeout, 0), 10*time.Second)
	cfg.ResumeLimit = cmp.Or(max(cfg.ResumeLimit, 0), 10_000)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
}

// NewRegistry returns a registry with the Go runtime and process collectors
// and build_info.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildinfo.Collector())
	return reg
}

// Routes lists the patterns the replica's API serves (httpapi.API.Routes).
func (s *Service) Routes() []string { return s.api.Routes() }

// Addr is the address the replica listens on.
func (s *Service) Addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// Run serves until ctx is done, then shuts down in order: deregister, tell
// clients to reconnect and drain them, stop the HTTP server, end the broker
// subscriptions, close the broadcaster.
func (s *Service) Run(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.srv.Serve(s.ln) }()
	if s.cfg.DebugAddr != "" {
		stopDebug := serveDebug(s.cfg.DebugAddr, s.log)
		defer stopDebug()
	}
	s.log.Info("listening", "addr", s.Addr().String())
	raiseFileLimit(s.log)
	if s.osm != nil {
		go func() {
			if err := s.osm.Serve(s.osmL); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("OsmAnd listener", "err", err)
			}
		}()
		s.log.Info("OsmAnd protocol listening", "addr", s.OsmAndAddr().String())
	}

	var deregister func(context.Context) error
	if s.cfg.Register != nil {
		var err error
		if deregister, err = s.cfg.Register(ctx, s.Addr()); err != nil {
			s.log.Error("register in discovery", "err", err)
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if deregister != nil {
		if err := deregister(sctx); err != nil {
			s.log.Warn("deregister", "err", err)
		}
	}
	if err := s.api.Shutdown(sctx); err != nil {
		s.log.Warn("drain connections", "err", err)
	}
	if err := s.srv.Shutdown(sctx); err != nil {
		s.log.Warn("stop http server", "err", err)
		_ = s.srv.Close()
	}
	if s.osm != nil {
		if err := s.osm.Shutdown(sctx); err != nil {
			_ = s.osm.Close()
		}
	}
	if s.disp != nil {
		// Its expiry publishes through the broadcaster: closed first.
		s.disp.Close()
	}
	if s.adv != nil {
		// Tells the other replicas this one stopped watching.
		s.adv.Close()
	}
	s.hub.Close()
	if err := s.b.Close(); err != nil {
		s.log.Warn("close broadcaster", "err", err)
	}
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	s.log.Info("stopped")
	return nil
}
