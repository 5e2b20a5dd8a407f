package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DNSConfig configures a DNS resolver.
type DNSConfig struct {
	// Names maps each followed service to the DNS name of its replicas, as
	// "host:port": every A/AAAA record of host is one instance at port. On
	// Kubernetes, host is a headless Service, whose records are the pods
	// that pass their readiness probe. Required, at least one.
	Names map[string]string
	// Interval is the time between two lookups of a name. Default 5s.
	Interval time.Duration
	// Timeout bounds one lookup. Default 2s.
	Timeout time.Duration
	// Resolver looks the names up. Default net.DefaultResolver.
	Resolver *net.Resolver
	// Logger receives resolution events. Default: discard.
	Logger *slog.Logger
}

// DefaultDNSInterval is DNSConfig.Interval when none is given.
const DefaultDNSInterval = 5 * time.Second

// DNS is a Resolver that looks up the address records of one name per
// service every Interval. Every address is a healthy instance: the name's
// owner (Kubernetes for a headless Service) publishes only ready ones. A
// name that does not exist, or has no address, is an empty set (a headless
// Service with no ready pod); any other failure (timeout, server failure)
// keeps the last known set and is retried at the next interval.
type DNS struct {
	cfg   DNSConfig
	log   *slog.Logger
	notes notifier

	mu    sync.RWMutex
	sets  map[string][]Instance
	known map[string]bool

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ Resolver = (*DNS)(nil)

// dnsTarget is one followed name, parsed.
type dnsTarget struct {
	service, host, port string
}

// NewDNS starts following cfg.Names; each is looked up once right away, in
// the background: until a service's first answer, Ready returns an error.
func NewDNS(cfg DNSConfig) (*DNS, error) {
	if len(cfg.Names) == 0 {
		return nil, errors.New("discovery: DNSConfig.Names is empty")
	}
	var targets []dnsTarget
	for svc, name := range cfg.Names {
		host, port, err := net.SplitHostPort(name)
		if err != nil || host == "" {
			return nil, fmt.Errorf("discovery: DNS name of %s: %q is not host:port", svc, name)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("discovery: DNS name of %s: %q: port %q is not 1-65535", svc, name, port)
		}
		targets = append(targets, dnsTarget{service: svc, host: host, port: port})
	}
	slices.SortFunc(targets, func(a, b dnsTarget) int { return cmp.Compare(a.service, b.service) })
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultDNSInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DNS{cfg: cfg, log: cfg.Logger, sets: map[string][]Instance{}, known: map[string]bool{}, cancel: cancel}
	for _, t := range targets {
		d.wg.Add(1)
		go d.follow(ctx, t)
	}
	return d, nil
}

// follow looks t up now and then every Interval until ctx is done.
func (d *DNS) follow(ctx context.Context, t dnsTarget) {
	defer d.wg.Done()
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	for {
		d.lookup(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (d *DNS) lookup(ctx context.Context, t dnsTarget) {
	lctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	addrs, err := d.cfg.Resolver.LookupIPAddr(lctx, t.host)
	if err != nil {
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			if ctx.Err() == nil {
				d.log.Warn("DNS lookup failed; keeping the last known instances", "service", t.service, "name", t.host, "err", err)
			}
			return
		}
		addrs = nil // no such name, or no address: no ready replica
	}
	set := make([]Instance, 0, len(addrs))
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		hp := net.JoinHostPort(a.IP.String(), t.port)
		if !seen[hp] {
			seen[hp] = true
			set = append(set, Instance{ID: hp, Address: hp})
		}
	}
	sortInstances(set)
	if len(set) == 0 {
		set = nil
	}
	d.mu.Lock()
	changed := !d.known[t.service] || !slices.Equal(d.sets[t.service], set)
	d.sets[t.service], d.known[t.service] = set, true
	d.mu.Unlock()
	if changed {
		d.log.Info("instances changed", "service", t.service, "name", t.host, "count", len(set))
		d.notes.notify()
	}
}

// Instances implements Resolver.
func (d *DNS) Instances(service string) []Instance {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.sets[service]
}

// Changed implements Resolver.
func (d *DNS) Changed() <-chan struct{} { return d.notes.wait() }

// Ready implements Resolver.
func (d *DNS) Ready() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var missing []string
	for svc, name := range d.cfg.Names {
		if !d.known[svc] {
			missing = append(missing, svc+" ("+name+")")
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("DNS has not answered yet for %v", missing)
	}
	return nil
}

// Close implements Resolver. A lookup in flight is given up; the net
// package may still wait for its answer, up to the resolver's timeout, on a
// goroutine of its own.
func (d *DNS) Close() error {
	d.closeOnce.Do(func() {
		d.cancel()
		d.wg.Wait()
		d.notes.shutdown()
	})
	return nil
}
