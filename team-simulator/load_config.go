package simulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// LoadConfig configures a load run (RunLoad).
type LoadConfig struct {
	// Workers is the number of simulated workers, each with its own
	// connection. Required.
	Workers int
	// Teams the workers are spread over, round robin. Default: 1.
	Teams int
	// ManagersPerTeam watch each team's stream; 0 runs workers only.
	ManagersPerTeam int
	// WatchedTeams is how many teams (the first ones) have managers; the
	// others only workers, which is what sampling advice is for (issue 14).
	// Default 0: every team.
	WatchedTeams int
	// Rate is the positions per second of each worker. Default: 10.
	Rate float64
	// Duration of the measurement window. Default: 60s.
	Duration time.Duration
	// Ramp spreads the workers' connects (and send phases) over at least this
	// long. Default: 1ms per worker, at least 2s.
	Ramp time.Duration
	// Warmup runs after the ramp, before the window opens. Default: 3s.
	Warmup time.Duration
	// Drain is the longest wait, once workers stop, for managers to see the
	// last positions. Default: 5s.
	Drain time.Duration
	// WorkerURLs are the base URLs of the tracking API that workers connect to
	// (round robin), e.g. replica A: http://127.0.0.1:8081/tracking/. Required.
	WorkerURLs []string
	// ManagerURLs are the base URLs managers connect to (round robin), e.g.
	// replica B. Default: WorkerURLs.
	ManagerURLs []string
	// WorkerTransport: TransportWebSocket (default) or TransportNDJSON.
	WorkerTransport Transport
	// ManagerTransport: ManagerSSE (default) or ManagerWebSocket.
	ManagerTransport ManagerTransport
	// TeamPrefix names the teams: prefix + "t000", ... Default: "load-".
	TeamPrefix string
	// PIDs of the server processes (replicas, broker) whose CPU time over the
	// window and peak RSS the report gives.
	PIDs []int
	// Geofences is how many fences the run creates before it starts, spread
	// evenly over its teams, around points its workers pass during the
	// window (planFences), through POST {base}{team}/geofences on the worker
	// URLs (the replicas that evaluate the workers' positions), as a manager
	// of each team. The service must keep fences (HISTORY_DSN). They are
	// deleted when the run ends unless KeepGeofences. Default: 0, none.
	Geofences     int
	KeepGeofences bool
	// Positions > 0 is count mode: the workers connect, then all start
	// together and each sends exactly this many positions (at Rate) and
	// stays connected; the window runs from the first send until every
	// manager has every worker's last position, for at most Duration
	// (default 10 minutes here), then the Drain. The report's Fanout gives
	// the time from the first send to the last receipt.
	Positions int
	// MetricsURLs are the replicas' /metrics pages, scraped before the
	// managers connect and after they stop: the loss report gives the
	// difference of the counters that say where positions go missing
	// (ServerCounters). Default: none.
	MetricsURLs []string
	// ManagerSources are local addresses the managers' connections are
	// spread over (round robin), so that more connections than one
	// address's ephemeral ports can be open. Default: the system's choice.
	ManagerSources []netip.Addr
	// ManagerRate paces the managers' connects (per second). Default 0:
	// all at once.
	ManagerRate float64
	// ManagerNoResume makes managers start over from the snapshot when
	// their stream reopens, instead of resuming after the last stream id
	// they saw (what a browser's EventSource does, the default).
	ManagerNoResume bool
	// Strategy is recorded in the report (redis or kafka); it changes nothing.
	Strategy string
	// Movement, Seed, Backoff, Status, ShutdownGrace, Logger, HTTPClient,
	// Auth, Now, IgnoreAdvice and ReadAfter are as in Config.
	Movement      Movement
	Seed          uint64
	Backoff       Backoff
	Status        Status
	ShutdownGrace time.Duration
	Logger        *slog.Logger
	HTTPClient    *http.Client
	Auth          Auth
	Now           func() time.Time
	IgnoreAdvice  bool
	ReadAfter     time.Duration
}

func (c LoadConfig) withDefaults() LoadConfig {
	// The settings shared with worker mode take Config's defaults.
	w := Config{Movement: c.Movement, Backoff: c.Backoff, Status: c.Status, ShutdownGrace: c.ShutdownGrace, Logger: c.Logger, Now: c.Now}.withDefaults()
	c.Movement, c.Backoff, c.Status, c.ShutdownGrace, c.Logger, c.Now = w.Movement, w.Backoff, w.Status, w.ShutdownGrace, w.Logger, w.Now
	if c.Teams == 0 {
		c.Teams = 1
	}
	if c.Rate == 0 {
		c.Rate = 10
	}
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
		if c.Positions > 0 {
			c.Duration = 10 * time.Minute
		}
	}
	if c.Ramp == 0 {
		c.Ramp = max(2*time.Second, time.Duration(c.Workers)*time.Millisecond)
	}
	if c.Warmup == 0 {
		c.Warmup = 3 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if len(c.ManagerURLs) == 0 {
		c.ManagerURLs = c.WorkerURLs
	}
	if c.WorkerTransport == "" {
		c.WorkerTransport = TransportWebSocket
	}
	if c.ManagerTransport == "" {
		c.ManagerTransport = ManagerSSE
	}
	if c.TeamPrefix == "" {
		c.TeamPrefix = "load-"
	}
	return c
}

func (c *LoadConfig) validate() error {
	switch {
	case c.Workers <= 0:
		return errors.New("load: workers must be > 0")
	case c.Teams < 0 || c.Teams > c.Workers:
		return fmt.Errorf("load: %d teams for %d workers", c.Teams, c.Workers)
	case c.WatchedTeams < 0 || c.WatchedTeams > max(c.Teams, 1):
		return fmt.Errorf("watched teams %d: want 0 (all) to the %d teams", c.WatchedTeams, max(c.Teams, 1))
	case c.ManagersPerTeam < 0:
		return errors.New("load: managers per team must be >= 0")
	case !(c.Rate > 0) || c.Rate > 1000:
		return fmt.Errorf("load: rate %v must be in (0, 1000] positions/s", c.Rate)
	case c.Positions < 0:
		return fmt.Errorf("load: positions %d must be >= 0 (0: send for the duration)", c.Positions)
	case c.ManagerRate < 0:
		return fmt.Errorf("load: manager rate %v must be >= 0 (0: all at once)", c.ManagerRate)
	case c.Geofences < 0:
		return fmt.Errorf("load: geofences %d must be >= 0", c.Geofences)
	case c.Duration < 0 || c.Ramp < 0 || c.Warmup < 0 || c.Drain < 0 || c.ReadAfter < 0:
		return errors.New("load: durations must be >= 0")
	case len(c.WorkerURLs) == 0:
		return errors.New("load: no worker URL")
	}
	var err error
	for i, u := range c.WorkerURLs {
		if c.WorkerURLs[i], err = normalizeBaseURL(u); err != nil {
			return fmt.Errorf("load: worker URL: %w", err)
		}
	}
	for i, u := range c.ManagerURLs {
		if c.ManagerURLs[i], err = normalizeBaseURL(u); err != nil {
			return fmt.Errorf("load: manager URL: %w", err)
		}
	}
	for _, u := range c.MetricsURLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("load: metrics URL %q: want http://host:port/metrics", u)
		}
	}
	if err := c.WorkerTransport.validate(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := c.ManagerTransport.validate(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return c.Movement.validate()
}
