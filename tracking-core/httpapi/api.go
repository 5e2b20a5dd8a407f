package httpapi

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/wire"
)

// Config tunes the API. Zero values take the defaults in the comments.
type Config struct {
	// MaxRecordSize bounds one record or WebSocket message, in bytes. Default 64 KiB.
	MaxRecordSize int
	// Heartbeat is the interval of SSE comments and WebSocket pings. Default 15s.
	Heartbeat time.Duration
	// MaxLifetime is the longest a connection lives before it is told to
	// reconnect, so that load rebalances after scale-out. Default 15m.
	MaxLifetime time.Duration
	// LifetimeDither is the fraction of MaxLifetime randomly taken off each
	// connection's lifetime, so that reconnects spread out. Default 0.2.
	LifetimeDither float64
	// RetryHint is the reconnect delay suggested to SSE clients. Default 2s.
	RetryHint time.Duration
	// WriteTimeout bounds each write to a client. Default 10s.
	WriteTimeout time.Duration
	// FlushInterval is the shortest time between two writes to one manager: what
	// arrives meanwhile goes out in one batch. Default 50ms; negative disables.
	FlushInterval time.Duration
	// QueueSoftLimit is the number of pending positions of a manager beyond which
	// they are conflated to the latest per worker. Default 1024.
	QueueSoftLimit int
	// QueueHardLimit is the number of distinct workers pending for a manager
	// beyond which the manager is disconnected as too slow. Default 20000.
	QueueHardLimit int
	// AllowedOrigins are the WebSocket Origin patterns accepted (path.Match
	// syntax on the host). Default: any.
	AllowedOrigins []string
	// RecordsPerSecond is the sustained rate of records one worker connection
	// may send; excess records are answered with rate_limited. Default 50
	// (a worker sends about 2); negative: unlimited.
	RecordsPerSecond float64
	// RecordBurst is how many records a connection may send at once above
	// the rate. Default 100.
	RecordBurst int
	// HardRejectsPerSecond ends a connection that has more rate-limited
	// records than this within one second. Default 1000.
	HardRejectsPerSecond int
	// MaxErrorsReported bounds the errors listed in a POST summary. Default 10.
	MaxErrorsReported int
	// Verifier checks the token of every request (auth.NewVerifier). Nil
	// serves everyone as anonymous: AUTH_MODE=none.
	Verifier auth.Verifier
	// Logger receives the API's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the API's metrics. Default: none.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics. Default: prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
}

func (c *Config) setDefaults() {
	if c.MaxRecordSize <= 0 {
		c.MaxRecordSize = wire.MaxRecordSize
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = 15 * time.Minute
	}
	if c.LifetimeDither <= 0 || c.LifetimeDither >= 1 {
		c.LifetimeDither = 0.2
	}
	if c.RetryHint <= 0 {
		c.RetryHint = 2 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.QueueSoftLimit <= 0 {
		c.QueueSoftLimit = 1024
	}
	if c.QueueHardLimit <= 0 {
		c.QueueHardLimit = 20000
	}
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = []string{"*"}
	}
	if c.RecordsPerSecond == 0 {
		c.RecordsPerSecond = 50
	}
	if c.RecordBurst <= 0 {
		c.RecordBurst = 100
	}
	if c.HardRejectsPerSecond <= 0 {
		c.HardRejectsPerSecond = 1000
	}
	if c.MaxErrorsReported <= 0 {
		c.MaxErrorsReported = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Gatherer == nil {
		c.Gatherer = prometheus.DefaultGatherer
	}
}

// API is the tracking API of one replica.
type API struct {
	cfg Config
	b   tracking.Broadcaster
	hub *hub.Hub
	log *slog.Logger
	m   *metrics
	mux *http.ServeMux

	workers   workerSessions
	drainOnce sync.Once
	drain     chan struct{} // closed when the replica starts draining
	streams   sync.WaitGroup
}

// New returns the API over broadcaster b and hub h.
func New(cfg Config, b tracking.Broadcaster, h *hub.Hub) *API {
	cfg.setDefaults()
	a := &API{cfg: cfg, b: b, hub: h, log: cfg.Logger, m: newMetrics(cfg.Registerer), drain: make(chan struct{})}
	a.mux = a.routes()
	return a
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Shutdown tells every connection to reconnect elsewhere, ends the streams and
// waits for their goroutines until ctx is done. /readyz fails from its start.
func (a *API) Shutdown(ctx context.Context) error {
	a.drainOnce.Do(func() { close(a.drain) })
	done := make(chan struct{})
	go func() {
		a.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Draining reports whether Shutdown has begun.
func (a *API) Draining() bool {
	select {
	case <-a.drain:
		return true
	default:
		return false
	}
}

// lifetime returns a connection's lifetime: MaxLifetime less a random dither.
func (a *API) lifetime() time.Duration {
	d := float64(a.cfg.MaxLifetime) * (1 - a.cfg.LifetimeDither*rand.Float64())
	return time.Duration(d)
}

// beginStream registers a long-lived connection; it returns false when draining.
func (a *API) beginStream() bool {
	if a.Draining() {
		return false
	}
	a.streams.Add(1)
	return true
}

func (a *API) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tracking", a.handleIngest)
	mux.HandleFunc("POST /tracking/{$}", a.handleIngest)
	mux.HandleFunc("GET /tracking/ws", a.handleWorkerWS)
	mux.HandleFunc("GET /tracking/{team}", a.handleSSE)
	mux.HandleFunc("GET /tracking/{team}/{$}", a.handleSSE)
	mux.HandleFunc("GET /tracking/{team}/ws", a.handleManagerWS)
	mux.HandleFunc("GET /tracking/{team}/positions", a.handlePositions)
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.HandleFunc("GET /readyz", a.handleReady)
	mux.Handle("GET /metrics", metricsHandler(a.cfg.Gatherer))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, tracking.Errorf(tracking.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}
