package httpapi

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/defcache"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/dispatch"
	"github.com/teamtrack/tracking-core/fencing"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/presence"
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
	// History is the durable position history: every accepted record is
	// added to it (never blocking ingest) and GET /tracking/{team}/history
	// queries its Store. Nil: no durable history (that route answers 501).
	History *history.Writer
	// Alerts serves GET /tracking/{team}/events and the webhooks and Web
	// Push endpoints.
	// Nil: those routes answer 501.
	Alerts *Alerts
	// Dispatch sends managers' messages to workers (POST and GET
	// /tracking/{team}/messages) and delivers them on worker WebSockets.
	// Nil: those routes answer 501 and workers get no messages.
	Dispatch *dispatch.Dispatcher
	// Devices is the registry of phones (OsmAnd, OwnTracks devices) mapped
	// to workers: /devices for admins, and the identity of /osmand and
	// /owntracks requests, cached on the replica. Nil: those answer 501
	// (phones with a worker token still work).
	Devices devices.Store
	// Advisor gives workers sampling advice by whether anyone watches
	// their team (sampling.Advisor). Nil: no advice.
	Advisor Advisor
	// DefinitionsPoll is how often each replica reads the changes of the
	// fences (GEOFENCE_POLL_INTERVAL): a change made through any replica is
	// live on every one within about this. Default 500ms.
	DefinitionsPoll time.Duration
	// DefaultAccuracy is the accuracy, in metres, geofences assume of a
	// position that gives none (GEOFENCE_DEFAULT_ACCURACY). Default 10.
	DefaultAccuracy float64
	// GeofenceSweep is how often dwells of silent workers are looked for
	// (tests shorten it). Default 1s.
	GeofenceSweep time.Duration
	// PresenceIdleAfter is how long a connected worker may send nothing
	// before it is idle. Default 60s.
	PresenceIdleAfter time.Duration
	// PresenceOfflineAfter is how long a worker may be silent before it is
	// offline. Default 5m.
	PresenceOfflineAfter time.Duration
	// PresenceAlertSettle is how long an idle or offline status must last
	// to become an alert event (in /events, webhooks, Web Push). Default 3s.
	PresenceAlertSettle time.Duration
	// PresenceSweep is how often workers are checked for idleness and
	// silence (tests shorten it). Default 1s.
	PresenceSweep time.Duration
	// Replica names this replica among those sharing the broker and the
	// alerting store (claims, sampling advice). Default: ReplicaName().
	Replica string
	// Logger receives the API's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the API's metrics. Default: none.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics. Default: prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
}

// WithDefaults returns c with the defaults New fills in, so that a reader of
// settings (tracking-core/service) offers them without writing them again.
func (c Config) WithDefaults() Config { c.setDefaults(); return c }

// setDefaults: cmp.Or(max(v, 0), d) is d for a zero or negative v.
func (c *Config) setDefaults() {
	c.MaxRecordSize = cmp.Or(max(c.MaxRecordSize, 0), wire.MaxRecordSize)
	c.Heartbeat = cmp.Or(max(c.Heartbeat, 0), 15*time.Second)
	c.MaxLifetime = cmp.Or(max(c.MaxLifetime, 0), 15*time.Minute)
	if c.LifetimeDither <= 0 || c.LifetimeDither >= 1 {
		c.LifetimeDither = 0.2
	}
	c.RetryHint = cmp.Or(max(c.RetryHint, 0), 2*time.Second)
	c.WriteTimeout = cmp.Or(max(c.WriteTimeout, 0), 10*time.Second)
	c.FlushInterval = cmp.Or(c.FlushInterval, 50*time.Millisecond)
	c.QueueSoftLimit = cmp.Or(max(c.QueueSoftLimit, 0), 1024)
	c.QueueHardLimit = cmp.Or(max(c.QueueHardLimit, 0), 20000)
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = []string{"*"}
	}
	c.RecordsPerSecond = cmp.Or(c.RecordsPerSecond, 50)
	c.RecordBurst = cmp.Or(max(c.RecordBurst, 0), 100)
	c.HardRejectsPerSecond = cmp.Or(max(c.HardRejectsPerSecond, 0), 1000)
	c.MaxErrorsReported = cmp.Or(max(c.MaxErrorsReported, 0), 10)
	c.DefinitionsPoll = cmp.Or(max(c.DefinitionsPoll, 0), 500*time.Millisecond)
	c.DefaultAccuracy = cmp.Or(max(c.DefaultAccuracy, 0), 10)
	c.GeofenceSweep = cmp.Or(max(c.GeofenceSweep, 0), time.Second)
	c.PresenceIdleAfter = cmp.Or(max(c.PresenceIdleAfter, 0), 60*time.Second)
	c.PresenceOfflineAfter = cmp.Or(max(c.PresenceOfflineAfter, 0), 5*time.Minute)
	c.PresenceSweep = cmp.Or(max(c.PresenceSweep, 0), time.Second)
	c.PresenceAlertSettle = cmp.Or(max(c.PresenceAlertSettle, 0), 3*time.Second)
	c.Replica = cmp.Or(c.Replica, ReplicaName())
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.Gatherer = cmp.Or(c.Gatherer, prometheus.DefaultGatherer)
}

// Advisor is the sampling advice of the replica (sampling.Advisor): live
// manager streams Watch their team, worker connections Follow theirs.
type Advisor interface {
	Watch(team string) (leave func())
	Follow(team string, advise func(interval time.Duration)) (leave func())
}

// API is the tracking API of one replica.
type API struct {
	cfg Config
	b   tracking.Broadcaster
	hub *hub.Hub
	log *slog.Logger
	m   *metrics
	mux *router

	workers   workerSessions
	presence  *presence.Tracker
	phones    *phoneAuth
	defs      *defcache.Cache // nil without alerts
	fences    *fencing.Engine // nil without alerts
	drainOnce sync.Once
	drain     chan struct{} // closed when the replica starts draining
	wheel     *wheel        // manager streams' heartbeats and lifetimes, workers' lifespans
	streams   sync.WaitGroup
	quiet     *quietHandlers // quiet worker connections' messages

	drainersMu sync.Mutex
	drainers   map[*func()]struct{} // called when the replica starts draining (onDrain)
}

// New returns the API over broadcaster b and hub h.
func New(cfg Config, b tracking.Broadcaster, h *hub.Hub) *API {
	cfg.setDefaults()
	a := &API{cfg: cfg, b: b, hub: h, log: cfg.Logger, m: newMetrics(cfg.Registerer), drain: make(chan struct{}),
		phones: newPhoneAuth(cfg.Devices, cfg.Registerer)}
	if al := cfg.Alerts; al != nil && al.Store != nil {
		a.startFences(al, b)
	}
	pc := presence.Config{IdleAfter: cfg.PresenceIdleAfter, OfflineAfter: cfg.PresenceOfflineAfter,
		Sweep: cfg.PresenceSweep, Publish: b.Publish, Logger: cfg.Logger, Registerer: cfg.Registerer}
	if a.fences != nil {
		pc.Changed = a.fences.StatusChanged // presence changes are alert events too
	}
	a.presence = presence.New(pc)
	a.workers.kicks = make(map[string]*session)
	// A tick of a sixteenth of the shortest period (at most 250 ms): a
	// heartbeat or a lifetime's end is that late at most.
	a.wheel = newWheel(min(min(cfg.Heartbeat, cfg.MaxLifetime)/16, 250*time.Millisecond))
	a.quiet = a.newQuietHandlers()
	a.mux = a.routes()
	return a
}

// startFences starts the replica's cache of fences and their evaluation on
// ingest, alerts going to the stream and to al's store.
func (a *API) startFences(al *Alerts, b tracking.Broadcaster) {
	log := a.log.With("component", "geofence")
	a.defs = defcache.New(defcache.Config{Source: al.Store, Poll: a.cfg.DefinitionsPoll, Logger: log, Registerer: a.cfg.Registerer})
	states, _ := b.(tracking.StateStore) // nil: New logs that states stay in the replica
	e, err := fencing.New(fencing.Config{Fences: a.defs.Fences, Publish: b.Publish, States: states,
		Append: al.Store.AppendEvents, Notify: al.Notify, DefaultAccuracy: a.cfg.DefaultAccuracy, Last: b.Last,
		StatusSettle: a.cfg.PresenceAlertSettle,
		Sweep:        a.cfg.GeofenceSweep, Logger: log, Registerer: a.cfg.Registerer,
		Proximity: &fencing.ProximityConfig{Rules: a.defs.AllRules, Watch: a.hub.Watch, Claims: al.Store, Holder: a.cfg.Replica}})
	if err != nil {
		// Only a bad evaluator config fails, and none is given here.
		a.defs.Close()
		a.defs = nil
		log.Error("geofence evaluation off", "err", err)
		return
	}
	a.fences = e
}

// ReplicaName names a replica among those sharing a broker or the alerting
// store: its host name (the pod's, in Kubernetes) and a random suffix, since
// several may run on one host. Each call makes a new name.
func ReplicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return host + "/" + alerting.NewID("r_")
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Shutdown tells every connection to reconnect elsewhere, ends the streams and
// waits for their goroutines until ctx is done. /readyz fails from its start.
func (a *API) Shutdown(ctx context.Context) error {
	a.startDrain()
	done := make(chan struct{})
	go func() {
		a.streams.Wait()
		// Every connection has ended its workers' sessions.
		a.presence.Close()
		if a.fences != nil {
			// States saved and events stored before the store closes.
			a.fences.Close()
			a.defs.Close()
		}
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

func (a *API) routes() *router {
	mux := &router{ServeMux: http.NewServeMux()}
	ingest, sse := a.stream(a.authed(false, a.handleIngest)), a.stream(a.authed(true, a.handleSSE))
	mux.HandleFunc("POST /tracking", ingest)
	mux.HandleFunc("POST /tracking/{$}", ingest)
	mux.HandleFunc("GET /tracking/ws", a.stream(a.authed(false, a.handleWorkerWS)))
	mux.HandleFunc("GET /tracking/{team}", sse)
	mux.HandleFunc("GET /tracking/{team}/{$}", sse)
	mux.HandleFunc("GET /tracking/{team}/ws", a.stream(a.authed(true, a.handleManagerWS)))
	mux.HandleFunc("GET /tracking/{team}/positions", a.authed(true, a.handlePositions))
	mux.HandleFunc("GET /tracking/{team}/presence", a.authed(true, a.handlePresence))
	mux.HandleFunc("GET /tracking/{team}/history", a.authed(true, a.handleHistory))
	mux.HandleFunc("GET /tracking/{team}/replay", a.stream(a.authed(true, a.handleReplay)))
	mux.HandleFunc("GET /tracking/{team}/events", a.authed(true, a.handleEvents))
	mux.HandleFunc("GET /tracking/{team}/geofences", a.authed(true, a.handleFences))
	mux.HandleFunc("POST /tracking/{team}/geofences", a.authed(true, a.handleFencePut))
	mux.HandleFunc("GET /tracking/{team}/geofences/{id}", a.authed(true, a.handleFence))
	mux.HandleFunc("PUT /tracking/{team}/geofences/{id}", a.authed(true, a.handleFencePut))
	mux.HandleFunc("DELETE /tracking/{team}/geofences/{id}", a.authed(true, a.handleFenceDelete))
	mux.HandleFunc("GET /tracking/{team}/rules", a.authed(true, a.handleRules))
	mux.HandleFunc("POST /tracking/{team}/rules", a.authed(true, a.handleRulePut))
	mux.HandleFunc("GET /tracking/{team}/rules/{id}", a.authed(true, a.handleRule))
	mux.HandleFunc("PUT /tracking/{team}/rules/{id}", a.authed(true, a.handleRulePut))
	mux.HandleFunc("DELETE /tracking/{team}/rules/{id}", a.authed(true, a.handleRuleDelete))
	mux.HandleFunc("GET /tracking/{team}/webhooks", a.authed(true, a.handleWebhooks))
	mux.HandleFunc("POST /tracking/{team}/webhooks", a.authed(true, a.handleWebhookPut))
	mux.HandleFunc("GET /tracking/{team}/webhooks/{id}", a.authed(true, a.handleWebhook))
	mux.HandleFunc("PUT /tracking/{team}/webhooks/{id}", a.authed(true, a.handleWebhookPut))
	mux.HandleFunc("DELETE /tracking/{team}/webhooks/{id}", a.authed(true, a.handleWebhookDelete))
	mux.HandleFunc("GET /tracking/{team}/webhooks/{id}/dead-letters", a.authed(true, a.handleDeadLetters))
	mux.HandleFunc("POST /tracking/{team}/webhooks/{id}/dead-letters/replay", a.authed(true, a.handleDeadLetterReplay))
	a.pushRoutes(mux)
	mux.HandleFunc("POST /tracking/{team}/messages", a.authed(true, a.handleMessageSend))
	mux.HandleFunc("GET /tracking/{team}/messages/{id}", a.authed(true, a.handleMessage))
	mux.HandleFunc("POST /devices", a.authed(false, a.handleDevicePut))
	mux.HandleFunc("GET /devices", a.authed(false, a.handleDevices))
	mux.HandleFunc("GET /devices/{id...}", a.authed(false, a.handleDevice))
	mux.HandleFunc("DELETE /devices/{id...}", a.authed(false, a.handleDeviceDelete))
	for _, p := range []string{"/osmand", "/osmand/{$}"} {
		mux.HandleFunc("GET "+p, a.handleOsmAnd)
		mux.HandleFunc("POST "+p, a.handleOsmAnd)
	}
	mux.HandleFunc("POST /owntracks", a.handleOwnTracks)
	mux.HandleFunc("POST /owntracks/{$}", a.handleOwnTracks)
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.HandleFunc("GET /readyz", a.handleReady)
	mux.Handle("GET /metrics", metricsHandler(a.cfg.Gatherer))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, tracking.Errorf(tracking.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}
