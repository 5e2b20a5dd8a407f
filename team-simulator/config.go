package simulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Team is one team of simulated workers.
type Team struct {
	// Name of the team: 1-64 characters of [A-Za-z0-9_.:-]. Required.
	Name string
	// Workers is the number of workers in the team; 0 leaves the team out.
	Workers int
	// Interval between two positions of one worker. Default: 550ms.
	Interval time.Duration
	// URL is the base URL of the tracking API for the team's workers:
	// http://localhost:8080/tracking/redis/ through the gateway, or
	// http://localhost:8081/tracking/ straight at a replica. Required.
	URL string
	// Transport: TransportWebSocket (default) or TransportNDJSON.
	Transport Transport
}

// Config configures a Simulator (worker mode).
type Config struct {
	// Teams to simulate. Required: at least one.
	Teams []Team
	// Movement of the workers. Default: around São Paulo, 3 km, 1-15 m/s.
	Movement Movement
	// Seed of the movement model: the same seed gives every worker the same
	// start and the same path. Every value, 0 included, is a seed; the command
	// draws one when none is given and logs it.
	Seed uint64
	// Ramp spreads the workers' first connects over at least this long (and at
	// least over their interval), so that a large fleet does not overflow the
	// server's accept queue. Default: 1ms per worker, at least 1s.
	Ramp time.Duration
	// Backoff paces reconnects. Default: see Backoff.
	Backoff Backoff
	// Status says where the live status goes. Default: logged every 10s.
	Status Status
	// ShutdownGrace is how long streams get to close cleanly once the run's
	// context is done before they are cut. Default: 5s.
	ShutdownGrace time.Duration
	// Logger receives the logs. Default: discard.
	Logger *slog.Logger
	// HTTPClient makes every connection. Default: one tuned for many
	// long-lived connections.
	HTTPClient *http.Client
	// Auth is what the connections present (tokens). Default: nothing.
	Auth Auth
	// Now is the clock that stamps records. Default: time.Now.
	Now func() time.Time
	// IgnoreAdvice keeps every worker on its team's Interval whatever
	// sampling advice the server sends ({"type":"config"} on a WebSocket,
	// "config" in a POST's summary); the advice is still counted. Default:
	// workers report at the advised interval once advised.
	IgnoreAdvice bool
	// ReadAfter > 0 makes WebSocket workers send a read receipt
	// ({"type":"read"}) this long after each dispatch message, besides the
	// ack they send at once. Default: none.
	ReadAfter time.Duration
}

func (c Config) withDefaults() Config {
	c.Movement = c.Movement.withDefaults()
	c.Backoff = c.Backoff.withDefaults()
	c.Status = c.Status.withDefaults()
	if c.Ramp <= 0 {
		n := 0
		for _, t := range c.Teams {
			n += max(t.Workers, 0)
		}
		c.Ramp = max(time.Second, time.Duration(n)*time.Millisecond)
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	teams := make([]Team, len(c.Teams))
	for i, t := range c.Teams {
		if t.Interval == 0 {
			t.Interval = 550 * time.Millisecond
		}
		if t.Transport == "" {
			t.Transport = TransportWebSocket
		}
		teams[i] = t
	}
	c.Teams = teams
	return c
}

func (c Config) validate() error {
	if len(c.Teams) == 0 {
		return errors.New("config: no teams")
	}
	if c.ReadAfter < 0 {
		return fmt.Errorf("config: read-after %s is negative", c.ReadAfter)
	}
	seen := make(map[string]bool)
	total := 0
	for i := range c.Teams {
		t := &c.Teams[i]
		if err := tracking.ValidTeam(t.Name); err != nil {
			return fmt.Errorf("config: team %d: %w", i+1, err)
		}
		if seen[t.Name] {
			return fmt.Errorf("config: team %s listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.Workers < 0 {
			return fmt.Errorf("config: team %s: %d workers", t.Name, t.Workers)
		}
		if err := tracking.ValidateID("workerId", workerID(t.Name, t.Workers), 64); err != nil {
			return fmt.Errorf("config: team %s: worker ids: %w", t.Name, err)
		}
		if t.Interval < time.Millisecond {
			return fmt.Errorf("config: team %s: interval %s is below 1ms", t.Name, t.Interval)
		}
		if err := t.Transport.validate(); err != nil {
			return fmt.Errorf("config: team %s: %w", t.Name, err)
		}
		u, err := normalizeBaseURL(t.URL)
		if err != nil {
			return fmt.Errorf("config: team %s: %w", t.Name, err)
		}
		t.URL = u
		total += t.Workers
	}
	if total == 0 {
		return errors.New("config: no workers in any team")
	}
	return c.Movement.validate()
}

// workerID names worker n (1-based) of team.
func workerID(team string, n int) string { return fmt.Sprintf("%s-w%d", team, n) }
