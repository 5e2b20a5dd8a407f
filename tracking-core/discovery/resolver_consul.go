package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// ConsulConfig configures a Consul resolver.
type ConsulConfig struct {
	// Addr is the Consul agent's HTTP API, "host:port" or a URL. Required.
	Addr string
	// Services are the service names to follow. Required, at least one.
	Services []string
	// WaitTime bounds each blocking query. Default 1m.
	WaitTime time.Duration
	// MaxBackoff caps the wait between retries while the agent is
	// unreachable (starting at 250ms, doubling). Default 5s.
	MaxBackoff time.Duration
	// EmptyGrace is how long the last non-empty set of a service is kept
	// when, after a reconnect to the agent (it was unreachable, or its index
	// went backwards), the agent answers that the service has no instance:
	// a restarted -dev agent comes back empty and the replicas register
	// again within seconds. An answer with instances ends the grace at once;
	// an empty set still answered after EmptyGrace is believed. An empty
	// answer that follows no reconnect is believed at once. Default 15s;
	// negative: no grace.
	EmptyGrace time.Duration
	// Logger receives resolution events. Default: discard.
	Logger *slog.Logger
}

// DefaultEmptyGrace is ConsulConfig.EmptyGrace when none is given.
const DefaultEmptyGrace = 15 * time.Second

// Consul is a Resolver that follows the passing instances of its services
// with Consul blocking queries, one goroutine per service. While the agent is
// unreachable it keeps serving the last known sets and retries with backoff;
// when the agent comes back empty, it keeps them for ConsulConfig.EmptyGrace
// more while the replicas register again.
type Consul struct {
	client *consulClient
	log    *slog.Logger
	notes  notifier

	mu    sync.RWMutex
	sets  map[string][]Instance
	known map[string]bool // services whose set has been learnt at least once

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ Resolver = (*Consul)(nil)

// NewConsul starts following cfg.Services. It does not wait for Consul: until
// a service's set is first learnt, Instances returns nil for it and Ready
// returns an error.
func NewConsul(cfg ConsulConfig) (*Consul, error) {
	if len(cfg.Services) == 0 {
		return nil, errors.New("discovery: ConsulConfig.Services is empty")
	}
	if cfg.WaitTime <= 0 {
		cfg.WaitTime = time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.EmptyGrace == 0 {
		cfg.EmptyGrace = DefaultEmptyGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := newConsulClient(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("discovery: consul resolver: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consul{
		client: client,
		log:    cfg.Logger.With("consul", cfg.Addr),
		sets:   make(map[string][]Instance),
		known:  make(map[string]bool),
		cancel: cancel,
	}
	for _, svc := range slices.Compact(slices.Sorted(slices.Values(cfg.Services))) {
		c.known[svc] = false
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.follow(ctx, svc, cfg.WaitTime, cfg.MaxBackoff, cfg.EmptyGrace)
		}()
	}
	return c, nil
}

// Instances implements Resolver.
func (c *Consul) Instances(service string) []Instance {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sets[service]
}

// Changed implements Resolver.
func (c *Consul) Changed() <-chan struct{} { return c.notes.wait() }

// Ready implements Resolver.
func (c *Consul) Ready() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var missing []string
	for svc, ok := range c.known {
		if !ok {
			missing = append(missing, svc)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("discovery: instances of %s not yet learnt from consul", strings.Join(missing, ", "))
}

// Close implements Resolver: it ends the blocking queries and waits for
// their goroutines.
func (c *Consul) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.client.close()
		c.notes.shutdown()
	})
	return nil
}

// follow runs blocking queries for one service until ctx ends.
func (c *Consul) follow(ctx context.Context, svc string, waitTime, maxBackoff, emptyFor time.Duration) {
	log := c.log.With("service", svc)
	bo := backoff{min: 250 * time.Millisecond, max: maxBackoff}
	grace := emptyGrace{grace: emptyFor}
	var index uint64
	failing := false
	for {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: grace.wait(waitTime, time.Now())}).WithContext(ctx)
		entries, meta, err := c.client.Health().Service(svc, "", true, q)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if failing {
				log.Debug("consul still unreachable; keeping the last known instances", "err", err)
			} else {
				log.Warn("consul unreachable; keeping the last known instances", "err", err,
					"instances", len(c.Instances(svc)))
			}
			failing = true
			index = 0 // the agent may come back with a new index history
			if !sleep(ctx, bo.wait()) {
				return
			}
			continue
		}
		if failing {
			log.Info("consul reachable again")
			grace.reconnect()
		}
		failing = false
		bo.reset()
		// Blocking-query rules: an index that goes backwards means the
		// agent's state was reset; start over. Never wait on index 0.
		if meta.LastIndex < index {
			index = 0
			grace.reconnect()
		} else {
			index = meta.LastIndex
		}
		c.answered(log, svc, instancesOf(entries), &grace)
		if index == 0 {
			// An index that did not move would make the next query return
			// at once; pause so a misbehaving agent cannot spin us.
			if !sleep(ctx, bo.wait()) {
				return
			}
			index = 1
		}
	}
}

func instancesOf(entries []*api.ServiceEntry) []Instance {
	set := make([]Instance, 0, len(entries))
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		host := e.Service.Address
		if host == "" && e.Node != nil {
			host = e.Node.Address // Consul's rule: no service address means the node's
		}
		if host == "" || e.Service.Port <= 0 {
			continue
		}
		set = append(set, Instance{ID: e.Service.ID, Address: net.JoinHostPort(host, strconv.Itoa(e.Service.Port))})
	}
	sortInstances(set)
	if len(set) == 0 {
		return nil
	}
	return set
}

// answered takes a set the agent answered, unless grace doubts it.
func (c *Consul) answered(log *slog.Logger, svc string, set []Instance, grace *emptyGrace) {
	wasDoubting := grace.doubting()
	last := c.Instances(svc)
	if grace.keepLast(set, last, time.Now()) {
		if !wasDoubting {
			log.Warn("consul answered no instance after a reconnect; keeping the last known ones while they register again",
				"grace", grace.grace, "instances", addresses(last))
		}
		return
	}
	if wasDoubting && len(set) == 0 {
		log.Warn("consul still answers no instance after the grace; believing it", "grace", grace.grace)
	}
	c.update(log, svc, set)
}

func (c *Consul) update(log *slog.Logger, svc string, set []Instance) {
	c.mu.Lock()
	first := !c.known[svc]
	same := slices.Equal(c.sets[svc], set)
	c.known[svc] = true
	if !same {
		c.sets[svc] = set
	}
	c.mu.Unlock()
	if same && !first {
		return
	}
	log.Info("healthy instances", "count", len(set), "instances", addresses(set))
	c.notes.notify()
}

func addresses(set []Instance) []string {
	out := make([]string, len(set))
	for i, in := range set {
		out[i] = in.Address
	}
	return out
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
