package broadcasttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The cases of tracking.Mailbox, for the Broadcasters that implement it.

// mailboxes makes n replicas sharing one namespace, as Mailboxes, or skips
// the test when the backend's Broadcaster is not a tracking.Mailbox.
func (s *suite) mailboxes(t *testing.T, n int) []tracking.Mailbox {
	t.Helper()
	r := s.replicas(t, n)
	out := make([]tracking.Mailbox, n)
	for i, b := range r {
		mb, ok := b.(tracking.Mailbox)
		if !ok {
			t.Skipf("%T is not a tracking.Mailbox: no mail between replicas", b)
		}
		out[i] = mb
	}
	return out
}

// MailCollector gathers the payloads delivered to one Listen.
type MailCollector struct {
	mu     sync.Mutex
	got    []string
	notify chan struct{}
}

// NewMailCollector returns an empty collector.
func NewMailCollector() *MailCollector { return &MailCollector{notify: make(chan struct{}, 1)} }

// Handle is the h of Listen.
func (c *MailCollector) Handle(payload []byte) {
	c.mu.Lock()
	c.got = append(c.got, string(payload))
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Payloads returns what was delivered so far, in order.
func (c *MailCollector) Payloads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// WaitFor waits until payload has been delivered or timeout passes.
func (c *MailCollector) WaitFor(timeout time.Duration, payload string) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if slices.Contains(c.Payloads(), payload) {
			return true
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return slices.Contains(c.Payloads(), payload)
		}
	}
}

// Listen makes a collector listen to `to` on mb, ending with the test.
func Listen(t testing.TB, ctx context.Context, mb tracking.Mailbox, to tracking.Address) (*MailCollector, tracking.Subscription) {
	t.Helper()
	c := NewMailCollector()
	sub, err := mb.Listen(ctx, to, c.Handle)
	if err != nil {
		t.Fatalf("listen %v: %v", to, err)
	}
	t.Cleanup(sub.Unsubscribe)
	return c, sub
}

// Post posts payload, backing off while the send queue is full, and fails
// the test on an error; for the test's own goroutine only.
func Post(t testing.TB, mb tracking.Mailbox, to tracking.Address, payload []byte) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		err := mb.Post(context.Background(), to, payload)
		if err == nil {
			return
		}
		if !errors.Is(err, tracking.ErrOverloaded) || attempt > 1000 {
			t.Fatalf("post to %v: %v", to, err)
		}
		time.Sleep(5 * time.Millisecond) // back off from a full queue
	}
}

// Mail posted on one replica reaches a Listen on another and one on the
// same replica, byte for byte.
func (s *suite) mailDelivered(t *testing.T) {
	r := s.mailboxes(t, 2)
	to := tracking.Address{Team: "team_mail", Worker: "w1"}
	there, _ := Listen(t, t.Context(), r[1], to)
	here, _ := Listen(t, t.Context(), r[0], to)
	payload := `{"type":"dispatch","text":"go to gate 4"}` + "\x00\xff"
	Post(t, r[0], to, []byte(payload))
	for name, c := range map[string]*MailCollector{"another replica": there, "the posting replica": here} {
		if !c.WaitFor(s.f.Timeout, payload) {
			t.Fatalf("%s got %q, want the posted payload", name, c.Payloads())
		}
	}
	// The largest payload allowed goes through too.
	big := make([]byte, tracking.MaxMailSize)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	Post(t, r[0], to, big)
	if !there.WaitFor(s.f.Timeout, string(big)) {
		t.Fatalf("a payload of MaxMailSize bytes was not delivered (%d payloads)", len(there.Payloads()))
	}
}

// A worker's mail reaches neither another worker's Listen, nor the team's,
// nor the same worker of another team; the team's reaches no worker's.
func (s *suite) mailAddressIsolation(t *testing.T) {
	r := s.mailboxes(t, 2)
	addrs := []tracking.Address{
		{Team: "team_mi", Worker: "w1"},
		{Team: "team_mi", Worker: "w2"},
		{Team: "team_mi"},
		{Team: "team_mi2", Worker: "w1"},
		{Team: "team_mi2"},
	}
	cs := make([]*MailCollector, len(addrs))
	for i, a := range addrs {
		cs[i], _ = Listen(t, t.Context(), r[1], a)
	}
	for _, a := range addrs {
		Post(t, r[0], a, []byte("for "+a.String()))
	}
	// A marker after the mail, to every address: once each has arrived, so
	// has anything posted before it that was going to.
	for _, a := range addrs {
		Post(t, r[0], a, []byte("marker"))
	}
	for i, c := range cs {
		if !c.WaitFor(s.f.Timeout, "marker") {
			t.Fatalf("Listen of %v got %q, no marker", addrs[i], c.Payloads())
		}
		want := []string{"for " + addrs[i].String(), "marker"}
		if got := c.Payloads(); !slices.Equal(got, want) {
			t.Fatalf("Listen of %v got %q, want %q", addrs[i], got, want)
		}
	}
}

// Mail posted by one replica to one address arrives in the order posted,
// and the poster may reuse its buffer as soon as Post returns.
func (s *suite) mailOrder(t *testing.T) {
	r := s.mailboxes(t, 2)
	to := tracking.Address{Team: "team_mo", Worker: "w1"}
	c, _ := Listen(t, t.Context(), r[1], to)
	const n = 200
	buf := make([]byte, 0, 16)
	for i := range n {
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		Post(t, r[0], to, buf)
		copy(buf[:cap(buf)], "garbagegarbage!!") // the caller's buffer is its own again
	}
	last := strconv.Itoa(n - 1)
	if !c.WaitFor(s.f.Timeout, last) {
		t.Fatalf("got %d of %d payloads", len(c.Payloads()), n)
	}
	got := c.Payloads()
	for i, p := range got {
		if p != strconv.Itoa(i) {
			t.Fatalf("payload %d is %q (of %d delivered), want %d in order", i, p, len(got), i)
		}
	}
	if len(got) != n {
		t.Fatalf("got %d payloads, want %d", len(got), n)
	}
}

// Two Listens of one address on one replica (a worker's old and new
// connections) both receive; once one is unsubscribed only the other does.
func (s *suite) mailTwoListens(t *testing.T) {
	r := s.mailboxes(t, 2)
	to := tracking.Address{Team: "team_m2", Worker: "w1"}
	oldConn, oldSub := Listen(t, t.Context(), r[1], to)
	newConn, newSub := Listen(t, t.Context(), r[1], to)
	Post(t, r[0], to, []byte("both"))
	for name, c := range map[string]*MailCollector{"first": oldConn, "second": newConn} {
		if !c.WaitFor(s.f.Timeout, "both") {
			t.Fatalf("the %s Listen of the address got %q", name, c.Payloads())
		}
	}
	oldSub.Unsubscribe()
	select {
	case <-oldSub.Done():
	default:
		t.Fatal("Done open after Unsubscribe returned")
	}
	Post(t, r[0], to, []byte("new only"))
	if !newConn.WaitFor(s.f.Timeout, "new only") {
		t.Fatalf("the remaining Listen got %q: the other's Unsubscribe ended it", newConn.Payloads())
	}
	if got := oldConn.Payloads(); !slices.Equal(got, []string{"both"}) {
		t.Fatalf("the unsubscribed Listen got %q, want only what came before", got)
	}
	oldSub.Unsubscribe() // idempotent
	// The last Listen of the address ends (the broker subscription goes) and
	// a new one takes its place (it comes back).
	newSub.Unsubscribe()
	again, _ := Listen(t, t.Context(), r[1], to)
	Post(t, r[0], to, []byte("again"))
	if !again.WaitFor(s.f.Timeout, "again") {
		t.Fatalf("a Listen made after the address's last one ended got %q", again.Payloads())
	}
}

// The ctx given to Listen ends it; a Listen of the address elsewhere goes on.
func (s *suite) mailListenCtx(t *testing.T) {
	r := s.mailboxes(t, 2)
	to := tracking.Address{Team: "team_mc"}
	ctx, cancel := context.WithCancel(t.Context())
	c, sub := Listen(t, ctx, r[1], to)
	barrier, _ := Listen(t, t.Context(), r[0], to)
	Post(t, r[0], to, []byte("before"))
	if !c.WaitFor(s.f.Timeout, "before") {
		t.Fatalf("no mail before cancel: %q", c.Payloads())
	}
	cancel()
	select {
	case <-sub.Done():
	case <-time.After(s.f.Timeout):
		t.Fatal("Done not closed after the context was cancelled")
	}
	Post(t, r[0], to, []byte("after"))
	if !barrier.WaitFor(s.f.Timeout, "after") {
		t.Fatalf("the other replica's Listen got %q", barrier.Payloads())
	}
	if got := c.Payloads(); !slices.Equal(got, []string{"before"}) {
		t.Fatalf("the cancelled Listen got %q, want only what came before", got)
	}
}

// Bad addresses and oversized payloads are refused with an error naming the
// field.
func (s *suite) mailInvalid(t *testing.T) {
	mb := s.mailboxes(t, 1)[0]
	ok := tracking.Address{Team: "team_mv", Worker: "w1"}
	cases := []struct {
		to      tracking.Address
		size    int
		code    tracking.Code
		field   string
		listens bool // Listen refuses it too
	}{
		{tracking.Address{Worker: "w1"}, 1, tracking.CodeInvalidField, "team", true},
		{tracking.Address{Team: "team/x", Worker: "w1"}, 1, tracking.CodeInvalidField, "team", true},
		{tracking.Address{Team: "team_mv", Worker: "w 1"}, 1, tracking.CodeInvalidField, "worker", true},
		{tracking.Address{Team: "team_mv", Worker: "w/1"}, 1, tracking.CodeInvalidField, "worker", true},
		{tracking.Address{Team: "team_mv", Worker: string(make([]byte, 65))}, 1, tracking.CodeInvalidField, "worker", true},
		{ok, tracking.MaxMailSize + 1, tracking.CodeTooLarge, "payload", false},
	}
	for _, c := range cases {
		err := mb.Post(t.Context(), c.to, make([]byte, c.size))
		var e *tracking.Error
		if !errors.As(err, &e) || e.Code != c.code || e.Field != c.field {
			t.Errorf("Post(%q, %d bytes) = %v, want %s naming %q", c.to, c.size, err, c.code, c.field)
		}
		if !c.listens {
			continue
		}
		sub, err := mb.Listen(t.Context(), c.to, func([]byte) {})
		if sub != nil {
			sub.Unsubscribe()
		}
		if !errors.As(err, &e) || e.Code != c.code || e.Field != c.field {
			t.Errorf("Listen(%q) = %v, want %s naming %q", c.to, err, c.code, c.field)
		}
	}
}

// Close ends the Listens; Post and Listen answer ErrClosed afterwards.
func (s *suite) mailAfterClose(t *testing.T) {
	mb := s.mailboxes(t, 1)[0]
	b := mb.(tracking.Broadcaster)
	to := tracking.Address{Team: "team_mclose", Worker: "w1"}
	_, sub := Listen(t, t.Context(), mb, to)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-sub.Done():
	case <-time.After(s.f.Timeout):
		t.Fatal("Listen not ended by Close")
	}
	if err := mb.Post(t.Context(), to, []byte("x")); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Post after Close: %v, want ErrClosed", err)
	}
	if sub, err := mb.Listen(t.Context(), to, func([]byte) {}); !errors.Is(err, tracking.ErrClosed) {
		if sub != nil {
			sub.Unsubscribe()
		}
		t.Fatalf("Listen after Close: %v, want ErrClosed", err)
	}
}

// mailBeforeRestart listens on b before the broker restart, when b is a
// Mailbox (nil otherwise).
func mailBeforeRestart(t *testing.T, b tracking.Broadcaster) (*MailCollector, tracking.Address) {
	to := tracking.Address{Team: "team_r", Worker: "w1"}
	mb, ok := b.(tracking.Mailbox)
	if !ok {
		return nil, to
	}
	c, _ := Listen(t, t.Context(), mb, to)
	return c, to
}

// mailRestart is the mail side of the broker restart test: given a Listen
// made before the restart, it posts from `from` until one arrives.
func mailRestart(t *testing.T, from tracking.Mailbox, to tracking.Address, c *MailCollector) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		p := fmt.Sprintf("after restart %d", i)
		_ = from.Post(context.Background(), to, []byte(p))
		if c.WaitFor(200*time.Millisecond, p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail within 60s after the broker restarted (got %q)", c.Payloads())
		}
	}
}
