package devices

import (
	"cmp"
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
)

// CacheConfig tunes a Cache. Zero values take the defaults in the comments.
type CacheConfig struct {
	// TTL is how long a registered device is served from the cache. A
	// device deleted or changed through another replica is served as it
	// was for up to TTL (plus one store read) here. Default 30s.
	TTL time.Duration
	// NegativeTTL is how long an id that is not registered is answered
	// not_found from the cache: an unknown phone posting every second costs
	// one store read per NegativeTTL. A device registered through another
	// replica is refused here for up to NegativeTTL. Default 5s.
	NegativeTTL time.Duration
	// MaxEntries bounds the ids cached, registered or not. When it is
	// reached the expired entries go, then arbitrary ones, down to 7/8 of
	// it. Default 100000.
	MaxEntries int
	// Timeout bounds one store read. Default 5s.
	Timeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Registerer receives the cache's metrics. Default: none.
	Registerer prometheus.Registerer
}

// Cache is a replica's read-through cache of a Store for the ingest path:
// each position a phone posts looks its device up. Lookup serves from the
// cache for TTL (a registered device) or NegativeTTL (an id that is not);
// concurrent lookups of an id the cache lacks share one store read. Store
// errors are not cached: the next Lookup reads again.
//
// The cache is per replica and not told of changes made elsewhere: a device
// deleted, moved to another worker or given a new secret through another
// replica keeps working here as it was for up to TTL, and one registered
// there is refused here for up to NegativeTTL. The replica that changes a
// device calls Invalidate, so that it sees its own change at once.
//
// Its methods are safe for concurrent use.
type Cache struct {
	store Store
	cfg   CacheConfig
	m     *cacheMetrics

	mu      sync.Mutex
	entries map[string]cacheEntry
	calls   map[string]*cacheCall // the store reads in flight, by id
}

type cacheEntry struct {
	d       Device
	found   bool // false: not registered
	expires time.Time
}

// cacheCall is one store read that concurrent lookups of an id wait for.
type cacheCall struct {
	done    chan struct{} // closed when d and err are set
	d       Device
	err     error
	waiters int  // lookups waiting (for tests); under Cache.mu
	stale   bool // Invalidate ran since the read started: not cached; under Cache.mu
}

// NewCache returns a Cache of store.
func NewCache(store Store, cfg CacheConfig) *Cache {
	cfg.TTL = cmp.Or(max(cfg.TTL, 0), 30*time.Second)
	cfg.NegativeTTL = cmp.Or(max(cfg.NegativeTTL, 0), 5*time.Second)
	cfg.MaxEntries = cmp.Or(max(cfg.MaxEntries, 0), 100_000)
	cfg.Timeout = cmp.Or(max(cfg.Timeout, 0), 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{store: store, cfg: cfg, m: newCacheMetrics(cfg.Registerer),
		entries: make(map[string]cacheEntry), calls: make(map[string]*cacheCall)}
}

// Lookup returns the device registered under id, from the cache or the
// store. Its errors are the store's: not_found (NotFound) for an id that is
// not registered, invalid_field "id" for a malformed one (not looked up),
// anything else a failure of the store, or ctx's error when ctx ends first.
// The device's SecretHash is shared with the cache: do not modify it.
//
// The store read runs apart from the caller, bounded by Timeout: a caller
// that gives up (its ctx ends) neither fails the other lookups waiting for
// that read nor keeps its answer from being cached.
func (c *Cache) Lookup(ctx context.Context, id string) (Device, error) {
	if err := ValidID(id); err != nil {
		c.m.unknown.Inc()
		return Device{}, err
	}
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && c.cfg.Now().Before(e.expires) {
		c.mu.Unlock()
		if !e.found {
			c.m.unknown.Inc()
			return Device{}, NotFound(id)
		}
		c.m.hit.Inc()
		return e.d, nil
	}
	call := c.calls[id]
	if call == nil {
		call = &cacheCall{done: make(chan struct{})}
		c.calls[id] = call
		go c.read(context.WithoutCancel(ctx), id, call)
	}
	call.waiters++
	c.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		c.m.errors.Inc()
		return Device{}, ctx.Err()
	}
	switch {
	case call.err == nil:
		c.m.miss.Inc()
	case tracking.ErrorCode(call.err) == tracking.CodeNotFound:
		c.m.unknown.Inc()
	default:
		c.m.errors.Inc()
	}
	return call.d, call.err
}

// read gets id from the store for call and caches the answer: a device
// or not_found, not an error.
func (c *Cache) read(ctx context.Context, id string, call *cacheCall) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := c.cfg.Now() // the answer is as of no earlier than this
	c.m.reads.Inc()
	d, err := c.store.Get(ctx, id)
	c.mu.Lock()
	call.d, call.err = d, err
	if c.calls[id] == call {
		delete(c.calls, id)
	}
	if !call.stale {
		switch {
		case err == nil:
			c.put(id, cacheEntry{d: d, found: true, expires: start.Add(c.cfg.TTL)})
		case tracking.ErrorCode(err) == tracking.CodeNotFound:
			c.put(id, cacheEntry{expires: start.Add(c.cfg.NegativeTTL)})
		}
	}
	c.mu.Unlock()
	close(call.done)
}

// put caches e under id, making room first when the cache is full. Called
// with c.mu held.
func (c *Cache) put(id string, e cacheEntry) {
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.cfg.MaxEntries {
		now := c.cfg.Now()
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		// Then arbitrary entries (map order): a batch, so that a full cache
		// of live entries is swept once per MaxEntries/8 reads, not at each.
		target := c.cfg.MaxEntries - max(c.cfg.MaxEntries/8, 1)
		for k := range c.entries {
			if len(c.entries) <= target {
				break
			}
			delete(c.entries, k)
			c.m.evictions.Inc()
		}
	}
	c.entries[id] = e
	c.m.entries.Set(float64(len(c.entries)))
}

// Invalidate forgets id, registered or not: the next Lookup reads the
// store. A read of id in flight is neither cached nor joined by later
// lookups. The replica that puts or deletes a device calls it.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
	if call := c.calls[id]; call != nil {
		call.stale = true
		delete(c.calls, id)
	}
	c.m.entries.Set(float64(len(c.entries)))
}

type cacheMetrics struct {
	hit, miss, unknown, errors prometheus.Counter
	reads, evictions           prometheus.Counter
	entries                    prometheus.Gauge
}

func newCacheMetrics(reg prometheus.Registerer) *cacheMetrics {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracking_device_lookups_total",
		Help: "Device lookups of the ingest path, by result: hit (a registered device, from the cache), miss (one read from the store), " +
			"unknown (not registered or a malformed id: the report is refused), error (the store failed or the caller gave up).",
	}, []string{"result"})
	m := &cacheMetrics{
		hit: lookups.WithLabelValues("hit"), miss: lookups.WithLabelValues("miss"),
		unknown: lookups.WithLabelValues("unknown"), errors: lookups.WithLabelValues("error"),
		reads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_device_store_reads_total",
			Help: "Reads of the device registry by this replica's cache (concurrent lookups of one id share one)."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_device_cache_evictions_total",
			Help: "Live entries dropped from the device cache because it was full (raise its MaxEntries if this grows)."}),
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_device_cache_entries", Help: "Device ids in this replica's cache, registered or not."}),
	}
	if reg != nil {
		reg.MustRegister(lookups, m.reads, m.evictions, m.entries)
	}
	return m
}
