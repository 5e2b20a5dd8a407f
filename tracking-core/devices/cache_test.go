package devices_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/testsupport"
)

// clock is a fake clock the tests move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingStore is a devices.Store in memory that counts its Gets, may fail
// them, and may hold them until released.
type countingStore struct {
	devices.Store // not implemented: only Get is used by a Cache

	mu      sync.Mutex
	devs    map[string]devices.Device
	gets    int
	fail    error
	gate    chan struct{} // when not nil, Get waits for it to close
	entered chan string   // when not nil, Get sends its id here first
}

func newCountingStore(ds ...devices.Device) *countingStore {
	s := &countingStore{devs: map[string]devices.Device{}}
	for _, d := range ds {
		s.devs[d.ID] = d
	}
	return s
}

func (s *countingStore) Get(ctx context.Context, id string) (devices.Device, error) {
	s.mu.Lock()
	s.gets++
	gate, entered := s.gate, s.entered
	s.mu.Unlock()
	if entered != nil {
		entered <- id
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return devices.Device{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return devices.Device{}, s.fail
	}
	d, ok := s.devs[id]
	if !ok {
		return devices.Device{}, devices.NotFound(id)
	}
	return d, nil
}

func (s *countingStore) set(d devices.Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devs[d.ID] = d
}

func (s *countingStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.devs, id)
}

func (s *countingStore) failWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// hold makes the following Gets wait until the returned release is called,
// reporting each on entered.
func (s *countingStore) hold() (entered chan string, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan string, 100)
	gate := s.gate
	return s.entered, func() {
		s.mu.Lock()
		s.gate, s.entered = nil, nil
		s.mu.Unlock()
		close(gate)
	}
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func phone(id, worker string) devices.Device {
	return devices.Device{ID: id, Team: "team_one", Worker: worker, SecretHash: devices.HashSecret("a secret of some length"),
		CreatedAt: t0, UpdatedAt: t0}
}

type fixture struct {
	store *countingStore
	clock *clock
	cache *devices.Cache
	reg   *prometheus.Registry
}

func newFixture(cfg devices.CacheConfig, ds ...devices.Device) *fixture {
	f := &fixture{store: newCountingStore(ds...), clock: &clock{now: t0}, reg: prometheus.NewRegistry()}
	cfg.Now, cfg.Registerer = f.clock.Now, f.reg
	f.cache = devices.NewCache(f.store, cfg)
	return f
}

func (f *fixture) lookup(t *testing.T, id string) (devices.Device, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.cache.Lookup(ctx, id)
}

// found looks id up and wants worker.
func (f *fixture) found(t *testing.T, id, worker string) devices.Device {
	t.Helper()
	d, err := f.lookup(t, id)
	if err != nil || d.Worker != worker {
		t.Fatalf("Lookup %s: %+v, %v; want worker %s", id, d, err, worker)
	}
	return d
}

// unknown looks id up and wants not_found.
func (f *fixture) unknown(t *testing.T, id string) {
	t.Helper()
	_, err := f.lookup(t, id)
	if tracking.ErrorCode(err) != tracking.CodeNotFound {
		t.Fatalf("Lookup %s: %v, want not_found", id, err)
	}
}

func (f *fixture) reads(t *testing.T, want int) {
	t.Helper()
	if got := f.store.count(); got != want {
		t.Fatalf("%d store reads, want %d", got, want)
	}
	if got := f.metric(t, "tracking_device_store_reads_total", ""); got != float64(want) {
		t.Fatalf("tracking_device_store_reads_total = %v, want %d", got, want)
	}
}

// lookups wants the lookup counts by result: hit, miss, unknown, error.
func (f *fixture) lookups(t *testing.T, hit, miss, unknown, errs int) {
	t.Helper()
	for result, want := range map[string]int{"hit": hit, "miss": miss, "unknown": unknown, "error": errs} {
		if got := f.metric(t, "tracking_device_lookups_total", result); got != float64(want) {
			t.Fatalf("tracking_device_lookups_total{result=%q} = %v, want %d", result, got, want)
		}
	}
}

// metric returns the value of a counter or gauge of f.reg by name (and
// result label).
func (f *fixture) metric(t *testing.T, name, result string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if result == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{result=%q}", name, result)
	return 0
}

func TestCacheHitsDoNotQuery(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	first := f.found(t, "phone-1", "w-1")
	for range 10 {
		d := f.found(t, "phone-1", "w-1")
		if !devices.CheckSecret(d.SecretHash, "a secret of some length") || !d.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("a cached device differs: %+v", d)
		}
	}
	f.reads(t, 1)
	f.lookups(t, 10, 1, 0, 0)
}

func TestCacheTTLExpiry(t *testing.T) {
	f := newFixture(devices.CacheConfig{TTL: time.Minute}, phone("phone-1", "w-1"))
	f.found(t, "phone-1", "w-1")
	f.store.set(phone("phone-1", "w-2")) // through another replica
	f.clock.Advance(time.Minute - time.Nanosecond)
	f.found(t, "phone-1", "w-1") // stale for up to TTL, as documented
	f.reads(t, 1)
	f.clock.Advance(time.Nanosecond)
	f.found(t, "phone-1", "w-2")
	f.reads(t, 2)
	// Deleted elsewhere: served until the TTL, then refused.
	f.store.remove("phone-1")
	f.clock.Advance(30 * time.Second)
	f.found(t, "phone-1", "w-2")
	f.clock.Advance(30 * time.Second)
	f.unknown(t, "phone-1")
	f.reads(t, 3)
	f.lookups(t, 2, 2, 1, 0)
}

func TestCacheNegative(t *testing.T) {
	f := newFixture(devices.CacheConfig{TTL: time.Minute, NegativeTTL: 5 * time.Second})
	for range 20 { // an unknown phone hammering
		f.unknown(t, "stranger")
	}
	f.reads(t, 1)
	_, err := f.lookup(t, "stranger")
	if msg := tracking.ErrorMessage(err); msg != tracking.ErrorMessage(devices.NotFound("stranger")) {
		t.Fatalf("a cached not_found says %q", msg)
	}
	// Registered through another replica: refused here until NegativeTTL.
	f.store.set(phone("stranger", "w-7"))
	f.clock.Advance(5*time.Second - time.Nanosecond)
	f.unknown(t, "stranger")
	f.reads(t, 1)
	f.clock.Advance(time.Nanosecond)
	f.found(t, "stranger", "w-7")
	f.reads(t, 2)
	// Now cached for the (longer) TTL.
	f.clock.Advance(30 * time.Second)
	f.found(t, "stranger", "w-7")
	f.reads(t, 2)
	f.lookups(t, 1, 1, 22, 0)
}

func TestCacheInvalidate(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	f.found(t, "phone-1", "w-1")
	f.unknown(t, "phone-2")
	// Changed on this replica, which invalidates.
	f.store.set(phone("phone-1", "w-9"))
	f.store.set(phone("phone-2", "w-2"))
	f.found(t, "phone-1", "w-1")
	f.cache.Invalidate("phone-1")
	f.cache.Invalidate("phone-2")
	f.cache.Invalidate("never-seen")
	f.found(t, "phone-1", "w-9")
	f.found(t, "phone-2", "w-2")
	f.store.remove("phone-1")
	f.cache.Invalidate("phone-1")
	f.unknown(t, "phone-1")
	f.reads(t, 5)
}

func TestCacheConcurrentLookupsShareOneRead(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	entered, release := f.store.hold()
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := f.cache.Lookup(context.Background(), "phone-1")
			if err != nil || d.Worker != "w-1" {
				t.Errorf("Lookup: %+v, %v", d, err)
			}
		}()
	}
	<-entered
	testsupport.Eventually(t, 10*time.Second, "every lookup waiting for the read", func() bool { return f.cache.Waiters("phone-1") == n })
	release()
	wg.Wait()
	f.reads(t, 1)
	f.lookups(t, 0, n, 0, 0)
	// And an unknown id the same.
	entered, release = f.store.hold()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.cache.Lookup(context.Background(), "stranger"); tracking.ErrorCode(err) != tracking.CodeNotFound {
				t.Errorf("Lookup of an unknown id: %v", err)
			}
		}()
	}
	<-entered
	testsupport.Eventually(t, 10*time.Second, "every lookup waiting for the read", func() bool { return f.cache.Waiters("stranger") == n })
	release()
	wg.Wait()
	f.reads(t, 2)
	f.lookups(t, 0, n, n, 0)
}

func TestCacheErrorsAreNotCached(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	down := errors.New("database down")
	f.store.failWith(down)
	for range 3 {
		if _, err := f.lookup(t, "phone-1"); !errors.Is(err, down) {
			t.Fatalf("Lookup with the store down: %v", err)
		}
	}
	f.reads(t, 3)
	f.store.failWith(nil)
	f.found(t, "phone-1", "w-1")
	f.found(t, "phone-1", "w-1")
	f.reads(t, 4)
	f.lookups(t, 1, 1, 0, 3)
	// ErrClosed of a closed store is an error too, not an unknown device.
	f.store.failWith(devices.ErrClosed)
	if _, err := f.lookup(t, "phone-2"); !errors.Is(err, devices.ErrClosed) {
		t.Fatalf("Lookup with the store closed: %v", err)
	}
	f.lookups(t, 1, 1, 0, 4)
}

// An Invalidate during a read: that read's answer is not cached, and later
// lookups read again.
func TestCacheInvalidateDuringRead(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	entered, release := f.store.hold()
	done := make(chan devices.Device)
	go func() {
		d, _ := f.cache.Lookup(context.Background(), "phone-1")
		done <- d
	}()
	<-entered
	f.cache.Invalidate("phone-1")
	second := make(chan devices.Device)
	go func() {
		d, _ := f.cache.Lookup(context.Background(), "phone-1") // does not join the stale read
		second <- d
	}()
	<-entered
	f.store.set(phone("phone-1", "w-2"))
	release()
	<-done
	if d := <-second; d.Worker != "w-2" {
		t.Fatalf("the lookup after Invalidate got %+v", d)
	}
	f.found(t, "phone-1", "w-2")
	f.reads(t, 2)
}

// A caller that gives up does not fail the others, nor keep the answer
// from the cache.
func TestCacheCallerGivesUp(t *testing.T) {
	f := newFixture(devices.CacheConfig{}, phone("phone-1", "w-1"))
	entered, release := f.store.hold()
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := f.cache.Lookup(ctx, "phone-1")
		gaveUp <- err
	}()
	<-entered
	other := make(chan error)
	go func() {
		_, err := f.cache.Lookup(context.Background(), "phone-1")
		other <- err
	}()
	testsupport.Eventually(t, 10*time.Second, "two lookups waiting", func() bool { return f.cache.Waiters("phone-1") == 2 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the lookup that gave up: %v", err)
	}
	release()
	if err := <-other; err != nil {
		t.Fatalf("the other lookup: %v", err)
	}
	f.found(t, "phone-1", "w-1")
	f.reads(t, 1)
	f.lookups(t, 1, 1, 0, 1)
}

// A read that takes too long ends at Timeout, as an error.
func TestCacheReadTimeout(t *testing.T) {
	f := newFixture(devices.CacheConfig{Timeout: 20 * time.Millisecond}, phone("phone-1", "w-1"))
	_, release := f.store.hold()
	defer release()
	if _, err := f.lookup(t, "phone-1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lookup of a stuck store: %v", err)
	}
	f.lookups(t, 0, 0, 0, 1)
}

func TestCacheMalformedID(t *testing.T) {
	f := newFixture(devices.CacheConfig{})
	for _, id := range []string{"", "a b", "ü"} {
		_, err := f.lookup(t, id)
		wantField(t, "Lookup("+id+")", err, "id")
	}
	f.reads(t, 0)
	f.lookups(t, 0, 0, 3, 0)
}

func TestCacheMaxEntries(t *testing.T) {
	var ds []devices.Device
	for i := range 50 {
		ds = append(ds, phone(fmt.Sprintf("phone-%d", i), "w-1"))
	}
	f := newFixture(devices.CacheConfig{MaxEntries: 16, NegativeTTL: time.Minute}, ds...)
	for i := range 200 {
		id := fmt.Sprintf("stranger-%d", i)
		if i%4 == 0 {
			id = ds[i%len(ds)].ID
		}
		if _, err := f.lookup(t, id); err != nil && tracking.ErrorCode(err) != tracking.CodeNotFound {
			t.Fatalf("Lookup %s: %v", id, err)
		}
		if n := f.cache.Len(); n > 16 {
			t.Fatalf("%d entries cached, MaxEntries 16", n)
		}
	}
	f.reads(t, 200)
	if v := f.metric(t, "tracking_device_cache_evictions_total", ""); v == 0 {
		t.Fatal("no evictions counted")
	}
	// Full again, then every entry expires: a new id sweeps them out
	// rather than evicting.
	for i := 0; f.cache.Len() < 16; i++ {
		f.unknown(t, fmt.Sprintf("filler-%d", i))
	}
	f.clock.Advance(time.Hour)
	before := f.metric(t, "tracking_device_cache_evictions_total", "")
	f.found(t, "phone-49", "w-1")
	if n := f.cache.Len(); n != 1 {
		t.Fatalf("%d entries after a sweep of expired ones, want 1", n)
	}
	if v := f.metric(t, "tracking_device_cache_evictions_total", ""); v != before {
		t.Fatalf("expired entries were counted as evictions: %v then %v", before, v)
	}
	if v := f.metric(t, "tracking_device_cache_entries", ""); v != 1 {
		t.Fatalf("tracking_device_cache_entries = %v", v)
	}
}

func TestCacheDefaults(t *testing.T) {
	s := newCountingStore(phone("phone-1", "w-1"))
	c := devices.NewCache(s, devices.CacheConfig{}) // real clock, no metrics
	for range 3 {
		if _, err := c.Lookup(context.Background(), "phone-1"); err != nil {
			t.Fatal(err)
		}
	}
	if s.count() != 1 {
		t.Fatalf("%d reads with the default TTL", s.count())
	}
}

// With a real store shared by two replicas' caches: a delete through one
// is seen by the other after its TTL; the deleting replica invalidates and
// refuses at once.
func TestCacheOnSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitedevices.Open(ctx, sqlitedevices.Config{Path: filepath.Join(t.TempDir(), "devices.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret := devices.NewSecret()
	d := phone("ana/pixel8", "w-1")
	d.SecretHash = devices.HashSecret(secret)
	if _, _, err := st.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	a := devices.NewCache(st, devices.CacheConfig{Now: clk.Now})
	b := devices.NewCache(st, devices.CacheConfig{Now: clk.Now})
	for _, c := range []*devices.Cache{a, b} {
		got, err := c.Lookup(ctx, "ana/pixel8")
		if err != nil || !devices.CheckSecret(got.SecretHash, secret) {
			t.Fatalf("Lookup: %+v, %v", got, err)
		}
	}
	if err := st.Delete(ctx, "ana/pixel8"); err != nil {
		t.Fatal(err)
	}
	a.Invalidate("ana/pixel8")
	if _, err := a.Lookup(ctx, "ana/pixel8"); tracking.ErrorCode(err) != tracking.CodeNotFound {
		t.Fatalf("the deleting replica: %v", err)
	}
	if _, err := b.Lookup(ctx, "ana/pixel8"); err != nil {
		t.Fatalf("the other replica within its TTL: %v", err)
	}
	clk.Advance(30 * time.Second)
	if _, err := b.Lookup(ctx, "ana/pixel8"); tracking.ErrorCode(err) != tracking.CodeNotFound {
		t.Fatalf("the other replica after its TTL: %v", err)
	}
}
