// Package dnstest runs a DNS server on 127.0.0.1 for tests of DNS
// discovery: it answers A queries from a table the test changes, and a
// net.Resolver sends every query to it.
package dnstest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a DNS server over UDP on 127.0.0.1. A name not in its table is
// NXDOMAIN; a name set to fail gets SERVFAIL. Safe for concurrent use.
type Server struct {
	conn    net.PacketConn
	mu      sync.Mutex
	records map[string][]netip.Addr // fully qualified name -> A records
	failing map[string]bool
	queries map[string]int // answered queries by name
	done    chan struct{}
}

// Start runs a Server until the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{conn: conn, records: map[string][]netip.Addr{}, failing: map[string]bool{},
		queries: map[string]int{}, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { _ = conn.Close(); <-s.done })
	return s
}

// Set makes name answer with the IPv4 addresses ips; with none, name does
// not exist (NXDOMAIN).
func (s *Server) Set(name string, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fq := fqdn(name)
	s.failing[fq] = false
	if len(ips) == 0 {
		delete(s.records, fq)
		return
	}
	s.records[fq] = nil
	for _, ip := range ips {
		s.records[fq] = append(s.records[fq], netip.MustParseAddr(ip))
	}
}

// Fail makes the queries of name fail with SERVFAIL until the next Set.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[fqdn(name)] = true
}

// Queries is the number of queries of name answered so far.
func (s *Server) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[fqdn(name)]
}

// WaitQueries waits until name has been asked n more times from now.
func (s *Server) WaitQueries(t testing.TB, name string, n int) {
	t.Helper()
	want := s.Queries(name) + n
	deadline := time.Now().Add(10 * time.Second)
	for s.Queries(name) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s asked %d times, want %d", name, s.Queries(name), want)
		}
		time.Sleep(10 * time.Millisecond) // polling the server's count
	}
}

// Resolver is a pure-Go resolver whose every query goes to s. Its
// connections close when the query's context ends: the net package reads
// an answer until its own timeout otherwise, on a goroutine that would
// outlive the lookup given up (and fail goleak).
func (s *Server) Resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", addr)
		if err != nil {
			return nil, err
		}
		// Not wrapped: the resolver frames UDP only for a net.PacketConn.
		// Each exchange's context ends with it, so this closes c at the
		// latest then (a second Close is harmless).
		context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}}
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

func (s *Server) serve() {
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

func (s *Server) answer(h dnsmessage.Header, q dnsmessage.Question) ([]byte, error) {
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
