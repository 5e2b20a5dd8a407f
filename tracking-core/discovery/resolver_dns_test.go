package discovery

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a DNS server on 127.0.0.1 (UDP) answering A queries from a
// table the test changes: a name not in the table is NXDOMAIN, a name set
// to fail gets SERVFAIL.
type dnsServer struct {
	conn    net.PacketConn
	mu      sync.Mutex
	records map[string][]netip.Addr // fully qualified name -> A records
	failing map[string]bool
	queries map[string]int // answered queries by name
	done    chan struct{}
}

func startDNSServer(t *testing.T) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, records: map[string][]netip.Addr{}, failing: map[string]bool{}, queries: map[string]int{}, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { _ = conn.Close(); <-s.done })
	return s
}

func (s *dnsServer) set(name string, fail bool, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fq := name + "."
	s.failing[fq] = fail
	if ips == nil {
		delete(s.records, fq)
		return
	}
	s.records[fq] = nil
	for _, ip := range ips {
		s.records[fq] = append(s.records[fq], netip.MustParseAddr(ip))
	}
}

func (s *dnsServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		if out, err := s.answer(h, q); err == nil {
			_, _ = s.conn.WriteTo(out, from)
		}
	}
}

func (s *dnsServer) answer(h dnsmessage.Header, q dnsmessage.Question) ([]byte, error) {
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	ips, found := s.records[name]
	fail := s.failing[name]
	s.queries[name]++
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	switch {
	case fail:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !found:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if !fail && q.Type == dnsmessage.TypeA {
		for _, ip := range ips {
			rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
			if err := b.AResource(rr, dnsmessage.AResource{A: ip.As4()}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// waitQueries waits until name has been asked n more times from now.
func (s *dnsServer) waitQueries(t *testing.T, name string, n int) {
	t.Helper()
	s.mu.Lock()
	want := s.queries[name+"."] + n
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := s.queries[name+"."]
		s.mu.Unlock()
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s asked %d times, want %d", name, got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling the server's count
	}
}

// resolver is a Go resolver whose every query goes to s.
func (s *dnsServer) resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// waitFor polls r until service's addresses are want (sorted), or fails.
func waitFor(t *testing.T, r Resolver, service string, want ...string) {
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
	srv := startDNSServer(t)
	srv.set("redis.tracking.svc.test", false, "10.0.0.2", "10.0.0.1")
	srv.set("kafka.tracking.svc.test", false, "10.0.1.1")
	d, err := NewDNS(DNSConfig{
		Names: map[string]string{
			"tracking-redis-service": "redis.tracking.svc.test:8081",
			"tracking-kafka-service": "kafka.tracking.svc.test:8082",
		},
		Interval: 20 * time.Millisecond, Resolver: srv.resolver(),
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

	srv.set("redis.tracking.svc.test", false, "10.0.0.2", "10.0.0.3") // a pod replaced
	waitFor(t, d, "tracking-redis-service", "10.0.0.2:8081", "10.0.0.3:8081")

	srv.set("redis.tracking.svc.test", true) // SERVFAIL: keep what we know
	srv.waitQueries(t, "redis.tracking.svc.test", 3)
	waitFor(t, d, "tracking-redis-service", "10.0.0.2:8081", "10.0.0.3:8081")
	srv.set("kafka.tracking.svc.test", false, "10.0.1.1", "10.0.1.2")
	waitFor(t, d, "tracking-kafka-service", "10.0.1.1:8082", "10.0.1.2:8082")

	srv.set("redis.tracking.svc.test", false) // NXDOMAIN: no ready pod
	waitFor(t, d, "tracking-redis-service")
	srv.set("redis.tracking.svc.test", false, "10.0.0.4")
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
	srv := startDNSServer(t)
	srv.set("redis.test", true)
	d, err := NewDNS(DNSConfig{Names: map[string]string{"tracking-redis-service": "redis.test:8081"},
		Interval: 20 * time.Millisecond, Resolver: srv.resolver()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ready(); err == nil || !strings.Contains(err.Error(), "redis.test:8081") {
		t.Fatalf("Ready before any answer: %v, want an error naming the name", err)
	}
	srv.set("redis.test", false, "10.1.0.1")
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
		if d, err := NewDNS(DNSConfig{Names: names}); err == nil {
			d.Close()
			t.Errorf("NewDNS(%v) accepted", names)
		}
	}
}
