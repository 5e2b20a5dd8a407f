// Package pushtest is a Web Push service for tests: it stands where a
// browser's push service (FCM, Mozilla's autopush...) stands, on a loopback
// port, and does what it does (checks the VAPID token of each push, RFC
// 8292) plus what only the browser can (decrypts the message, RFC 8291),
// recording every plaintext. Subscribe makes a subscriber, as
// pushManager.subscribe does in a browser; its JSON is what a view sends to
// POST /tracking/{team}/push/subscriptions.
//
// A browser test (Chromium, whose own push service a test cannot reach)
// takes the plaintexts from Wait or OnMessage and hands each to the service
// worker (CDP ServiceWorker.deliverPushMessage).
//
// It is a normal package, not a _test file, so that tests of other modules
// import it.
package pushtest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBody is the largest push message a push service must take (RFC 8030
// section 7.2); larger ones are answered 413.
const MaxBody = 4096

// Subscriber is the browser's side of one push subscription: the key pair
// and authentication secret that pushManager.subscribe makes, and the
// endpoint the push service gives it.
type Subscriber struct {
	ID       string
	Endpoint string
	Key      *ecdh.PrivateKey
	Auth     []byte
	// AppServerKey is the VAPID public key it subscribed with (the
	// applicationServerKey); empty: any.
	AppServerKey string
}

// P256dh is the subscriber's public key as PushSubscription.getKey gives it
// (unpadded base64url).
func (s *Subscriber) P256dh() string {
	return base64.RawURLEncoding.EncodeToString(s.Key.PublicKey().Bytes())
}

// AuthSecret is the subscriber's authentication secret, unpadded base64url.
func (s *Subscriber) AuthSecret() string { return base64.RawURLEncoding.EncodeToString(s.Auth) }

// JSON is the subscription as PushSubscription.toJSON gives it:
// {"endpoint":...,"expirationTime":null,"keys":{"p256dh":...,"auth":...}}.
func (s *Subscriber) JSON() []byte {
	b, _ := json.Marshal(map[string]any{"endpoint": s.Endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": s.P256dh(), "auth": s.AuthSecret()}})
	return b
}

// Message is a push received and decrypted.
type Message struct {
	// Subscriber is the id of the subscriber it was for.
	Subscriber string
	// Plaintext is what the browser's service worker gets (event.data).
	Plaintext []byte
	// TTL, Urgency and Topic are the request's headers.
	TTL     int
	Urgency string
	Topic   string
	// Claims are the VAPID token's.
	Claims Claims
	At     time.Time
}

// Answer decides the status of a push to a subscriber instead of the
// checks (a status of 0 lets them decide); header is added to the answer.
type Answer func(sub *Subscriber, r *http.Request) (status int, header http.Header)

// Service is the push service. Its zero value is not usable: Start.
type Service struct {
	// URL is where it listens: http://127.0.0.1:port.
	URL string
	// OnMessage, when set before pushes arrive, is called with each
	// message accepted, on the request's goroutine.
	OnMessage func(Message)

	mu      sync.Mutex
	addr    string
	srv     *http.Server
	subs    map[string]*Subscriber
	gone    map[string]bool
	answers map[string]Answer
	msgs    []Message
	refused []string
	pushes  int
	changed chan struct{} // closed and replaced at each push
}

// Start starts a push service on a free loopback port.
func Start() (*Service, error) {
	s := &Service{subs: map[string]*Subscriber{}, gone: map[string]bool{}, answers: map[string]Answer{},
		changed: make(chan struct{})}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pushtest: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.URL = "http://" + s.addr
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Close stops the service.
func (s *Service) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Down stops listening, as a push service that is down: connections are
// refused until Up.
func (s *Service) Down() { s.Close() }

// Up listens again on the same address after Down.
func (s *Service) Up() error {
	s.mu.Lock()
	addr, up := s.addr, s.srv != nil
	s.mu.Unlock()
	if up {
		return nil
	}
	return s.listen(addr)
}

// Subscribe makes a subscriber with fresh keys and an endpoint on this
// service, bound to appServerKey (the VAPID public key in base64url, as
// GET /tracking/{team}/push/key gives it; empty: any key): a push signed
// with another key is answered 403, as a real push service does.
func (s *Service) Subscribe(appServerKey string) (*Subscriber, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	id := make([]byte, 12)
	if _, err := rand.Read(auth); err != nil {
		return nil, err
	}
	_, _ = rand.Read(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &Subscriber{ID: hex.EncodeToString(id), Key: key, Auth: auth, AppServerKey: strings.TrimRight(appServerKey, "=")}
	sub.Endpoint = s.URL + "/push/" + sub.ID
	s.subs[sub.ID] = sub
	return sub, nil
}

// Unsubscribe ends a subscription: pushes to it are answered 410 Gone.
func (s *Service) Unsubscribe(sub *Subscriber) {
	s.mu.Lock()
	s.gone[sub.ID] = true
	s.mu.Unlock()
}

// SetAnswer makes f decide the answers to pushes to sub (nil: the checks).
func (s *Service) SetAnswer(sub *Subscriber, f Answer) {
	s.mu.Lock()
	if f == nil {
		delete(s.answers, sub.ID)
	} else {
		s.answers[sub.ID] = f
	}
	s.mu.Unlock()
}

// Messages returns the messages accepted so far, in arrival order.
func (s *Service) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Refused returns why each push refused as invalid was refused (a bad VAPID
// token, a body that does not decrypt...): a correct sender leaves it empty.
func (s *Service) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refused)
}

// Pushes is how many push requests arrived, whatever their answer.
func (s *Service) Pushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushes
}

// Wait waits until n messages have been accepted, and returns them all; or
// returns those so far and ctx's error.
func (s *Service) Wait(ctx context.Context, n int) ([]Message, error) {
	return s.WaitFor(ctx, func(m []Message) bool { return len(m) >= n })
}

// WaitFor waits until cond holds of the messages accepted, and returns them.
func (s *Service) WaitFor(ctx context.Context, cond func([]Message) bool) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := slices.Clone(s.msgs), s.changed
		s.mu.Unlock()
		if cond(msgs) {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, ctx.Err()
		}
	}
}

// ServeHTTP serves POST /push/{id}: the push of a message to a subscriber.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	s.mu.Lock()
	s.pushes++
	id, _ := strings.CutPrefix(r.URL.Path, "/push/")
	sub, gone, answer := s.subs[id], s.gone[id], s.answers[id]
	s.mu.Unlock()
	defer s.poke()
	if sub != nil && answer != nil {
		if status, h := answer(sub, r); status != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
	}
	switch {
	case sub == nil:
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	case gone:
		http.Error(w, "the subscription has expired or was unsubscribed", http.StatusGone)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "push with POST", http.StatusMethodNotAllowed)
		return
	case err != nil:
		http.Error(w, "the body could not be read", http.StatusBadRequest)
		return
	case len(body) > MaxBody:
		s.refuse(w, http.StatusRequestEntityTooLarge, "a body of more than %d bytes", MaxBody)
		return
	}
	origin := "http://" + r.Host
	if r.TLS != nil {
		origin = "https://" + r.Host
	}
	claims, err := VerifyVAPID(r.Header.Get("Authorization"), origin, time.Now())
	if err != nil {
		s.refuse(w, http.StatusUnauthorized, "%v", err)
		return
	}
	if sub.AppServerKey != "" && claims.Key != sub.AppServerKey {
		s.refuse(w, http.StatusForbidden, "vapid k %s is not the key the subscription was made with, %s", claims.Key, sub.AppServerKey)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		s.refuse(w, http.StatusBadRequest, "TTL header %q: want a number of seconds (RFC 8030 section 5.2)", r.Header.Get("TTL"))
		return
	}
	if u := r.Header.Get("Urgency"); u != "" && !slices.Contains([]string{"very-low", "low", "normal", "high"}, u) {
		s.refuse(w, http.StatusBadRequest, "Urgency %q", u)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		s.refuse(w, http.StatusUnsupportedMediaType, "Content-Encoding %q: want aes128gcm (RFC 8291)", ce)
		return
	}
	plain, err := Decrypt(body, sub.Key, sub.Auth)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "decrypt: %v", err)
		return
	}
	m := Message{Subscriber: sub.ID, Plaintext: plain, TTL: ttl, Urgency: r.Header.Get("Urgency"),
		Topic: r.Header.Get("Topic"), Claims: claims, At: time.Now()}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	n := len(s.msgs)
	s.mu.Unlock()
	if s.OnMessage != nil {
		s.OnMessage(m)
	}
	w.Header().Set("Location", fmt.Sprintf("/message/%d", n))
	w.WriteHeader(http.StatusCreated)
}

func (s *Service) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.refused = append(s.refused, msg)
	s.mu.Unlock()
	http.Error(w, msg, status)
}

func (s *Service) poke() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
