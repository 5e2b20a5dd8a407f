package discovery_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/discovery"
	"github.com/teamtrack/tracking-core/discovery/dnstest"
)

// waitFor polls r until service's addresses are want (sorted), or fails.
func waitFor(t *testing.T, r discovery.Resolver, service string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		for _, in := range r.Instances(service) {
			if in.ID != in.Address {
				t.Fatalf("instance %+v: the ID is the address", in)
			}
			got = append(got, in.Address)
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: instances %v, want %v", service, got, want)
		}
		select {
		case <-r.Changed():
		case <-time.After(50 * time.Millisecond): // polling as well
		}
	}
}

// Instances appearing and disappearing behind a headless-service name are
// followed; a server failure keeps the last known set; a name with no
// record (no ready pod) is an empty set.
func TestDNSFollowsTheNames(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("redis.tracking.svc.test", "10.0.0.2", "10.0.0.1")
	srv.Set("kafka.tracking.svc.test", "10.0.1.1")
	d, err := discovery.NewDNS(discovery.DNSConfig{
		Names: map[string]string{
			"tracking-redis-service": "redis.tracking.svc.test:8081",
			"tracking-kafka-service": "kafka.tracking.svc.test:8082",
		},
		Interval: 20 * time.Millisecond, Resolver: srv.Resolver(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitFor(t, d, "tracking-redis-service", "10.0.0.1:8081", "10.0.0.2:8081")
	waitFor(t, d, "tracking-kafka-service", "10.0.1.1:8082")
	if err := d.Ready(); err != nil {
		t.Fatalf("Ready after both answered: %v", err)
	}

	srv.Set("redis.tracking.svc.test", "10.0.0.2", "10.0.0.3") // a pod replaced
	waitFor(t, d, "tracking-redis-service", "10.0.0.2:8081", "10.0.0.3:8081")

	srv.Fail("redis.tracking.svc.test") // SERVFAIL: keep what we know
	srv.WaitQueries(t, "redis.tracking.svc.test", 3)
	waitFor(t, d, "tracking-redis-service", "10.0.0.2:8081", "10.0.0.3:8081")
	srv.Set("kafka.tracking.svc.test", "10.0.1.1", "10.0.1.2")
	waitFor(t, d, "tracking-kafka-service", "10.0.1.1:8082", "10.0.1.2:8082")

	srv.Set("redis.tracking.svc.test") // NXDOMAIN: no ready pod
	waitFor(t, d, "tracking-redis-service")
	srv.Set("redis.tracking.svc.test", "10.0.0.4")
	waitFor(t, d, "tracking-redis-service", "10.0.0.4:8081")

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Changed():
	default:
		t.Fatal("Changed is not closed after Close")
	}
	waitFor(t, d, "tracking-redis-service", "10.0.0.4:8081") // the last known set after Close
}

// Until a name is answered the resolver is not ready; a server that never
// answers keeps it so.
func TestDNSNotReadyUntilAnswered(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Fail("redis.test")
	d, err := discovery.NewDNS(discovery.DNSConfig{Names: map[string]string{"tracking-redis-service": "redis.test:8081"},
		Interval: 20 * time.Millisecond, Resolver: srv.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ready(); err == nil || !strings.Contains(err.Error(), "redis.test:8081") {
		t.Fatalf("Ready before any answer: %v, want an error naming the name", err)
	}
	srv.Set("redis.test", "10.1.0.1")
	waitFor(t, d, "tracking-redis-service", "10.1.0.1:8081")
	if err := d.Ready(); err != nil {
		t.Fatal(err)
	}
}

func TestDNSConfigRefusals(t *testing.T) {
	for _, names := range []map[string]string{
		nil,
		{"s": "redis.test"},       // no port
		{"s": "redis.test:http"},  // not a number
		{"s": ":8081"},            // no host
		{"s": "redis.test:70000"}, // out of range
	} {
		if d, err := discovery.NewDNS(discovery.DNSConfig{Names: names}); err == nil {
			d.Close()
			t.Errorf("NewDNS(%v) accepted", names)
		}
	}
}
