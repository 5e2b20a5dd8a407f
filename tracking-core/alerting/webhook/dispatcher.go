package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/alerting"
)

// Config of a Dispatcher. Zero values take the defaults in the comments.
type Config struct {
	// Store holds the outbox. Required.
	Store alerting.Store
	// Timeout bounds one POST, connection included. Default 10s.
	Timeout time.Duration
	// MaxAttempts is how many failed attempts make a delivery a dead
	// letter. Default 15: with the default backoff, 14 waits of 1s doubling
	// to 15m, jittered, 40 to 77 minutes of trying.
	MaxAttempts int
	// BackoffBase is the wait after the first failure; it doubles after each
	// failure, up to BackoffMax, and each wait is drawn at random from its
	// upper half (jitter, so that a receiver coming back is not hit by every
	// retry at once). A Retry-After of a 429 or 503 answer lengthens it.
	// Defaults 1s and 15m.
	BackoffBase, BackoffMax time.Duration
	// Lease is how long a leased delivery is this replica's alone; it must
	// exceed Timeout (a delivery whose lease would end before its POST could
	// time out is left for a later lease instead). Default 3 × Timeout.
	Lease time.Duration
	// Poll is how often the outbox is read when idle (Notify wakes it
	// sooner). Default 500ms.
	Poll time.Duration
	// PerEndpoint is the most requests in flight to one endpoint. Default 4.
	PerEndpoint int
	// MaxInFlight is the most deliveries this replica holds at once. Default 256.
	MaxInFlight int
	// AllowHTTP allows plain http endpoints that are not loopback
	// (WEBHOOK_ALLOW_HTTP; see CheckURL).
	AllowHTTP bool
	// Client sends the requests; it must not follow redirects. Default: a
	// client of its own that does not (a redirect is a failed attempt).
	Client *http.Client
	// Push sends the deliveries of push subscriptions (webpush.Sender).
	// Nil: they fail, "Web Push is not configured", and are retried.
	Push Pusher
	// Logger receives the dispatcher's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the webhook_* and push_* metrics. Default: none.
	Registerer prometheus.Registerer
}

// WithDefaults returns c with the defaults New fills in, so that a reader
// of settings (tracking-core/service) offers them without writing them again.
func (c Config) WithDefaults() Config {
	c.Timeout = cmp.Or(max(c.Timeout, 0), 10*time.Second)
	c.MaxAttempts = cmp.Or(max(c.MaxAttempts, 0), 15)
	c.BackoffBase = cmp.Or(max(c.BackoffBase, 0), time.Second)
	c.BackoffMax = cmp.Or(max(c.BackoffMax, 0), 15*time.Minute)
	c.Lease = cmp.Or(max(c.Lease, 0), 3*c.Timeout)
	c.Poll = cmp.Or(max(c.Poll, 0), 500*time.Millisecond)
	c.PerEndpoint = cmp.Or(max(c.PerEndpoint, 0), 4)
	c.MaxInFlight = cmp.Or(max(c.MaxInFlight, 0), 256)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// validate checks a Config with its defaults.
func (c *Config) validate() error {
	if c.Store == nil {
		return errors.New("webhook: no Store")
	}
	if c.BackoffMax < c.BackoffBase {
		return fmt.Errorf("webhook: BackoffMax %s is shorter than BackoffBase %s", c.BackoffMax, c.BackoffBase)
	}
	if c.Lease <= c.Timeout {
		return fmt.Errorf("webhook: Lease %s must exceed Timeout %s", c.Lease, c.Timeout)
	}
	return nil
}

// Dispatcher delivers the outbox of a Store. Several replicas may run one
// each on one database: the Store's leases keep them from sending the same
// delivery at once.
type Dispatcher struct {
	cfg    Config
	st     alerting.Store
	log    *slog.Logger
	m      *metrics
	client *http.Client
	ownsTr *http.Transport // the transport of a client made here

	ctx    context.Context // ends the lease loop and waits for a slot
	cancel context.CancelFunc
	wake   chan struct{}
	loop   sync.WaitGroup // the lease loop
	sends  sync.WaitGroup // one per delivery in hand
	once   sync.Once

	mu        sync.Mutex
	total     int                  // deliveries in hand
	endpoints map[string]*endpoint // by webhook id, while it has deliveries in hand
	warned    map[string]warnState // by webhook id: the last failure warning
}

// endpoint bounds the requests in flight to one webhook.
type endpoint struct {
	held int           // deliveries in hand (waiting or sending)
	sem  chan struct{} // PerEndpoint slots
}

type warnState struct {
	at         time.Time
	suppressed int
}

// New starts a Dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, st: cfg.Store, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		wake: make(chan struct{}, 1), endpoints: map[string]*endpoint{}, warned: map[string]warnState{}}
	d.client = cfg.Client
	if d.client == nil {
		d.ownsTr = http.DefaultTransport.(*http.Transport).Clone()
		d.ownsTr.MaxIdleConnsPerHost = cfg.PerEndpoint
		d.client = &http.Client{Transport: d.ownsTr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.loop.Add(1)
	go d.leaseLoop()
	return d, nil
}

// Notify wakes the lease loop: events were just appended. It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Close stops leasing, lets the POSTs in flight finish (each within
// Timeout) and record their result, drops the deliveries still waiting for
// a slot (their leases run out and they are sent later, by any replica),
// and returns when no goroutine of the Dispatcher is left. Idempotent.
func (d *Dispatcher) Close() error {
	d.once.Do(func() {
		d.cancel()
		d.loop.Wait()
		d.sends.Wait()
		if d.ownsTr != nil {
			d.ownsTr.CloseIdleConnections()
		}
	})
	return nil
}

func (d *Dispatcher) leaseLoop() {
	defer d.loop.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-timer.C:
		case <-d.wake:
		}
		full := d.leaseOnce()
		wait := d.cfg.Poll
		if full {
			wait = 0 // more may be due
		}
		timer.Reset(wait)
	}
}

// leaseOnce leases what this replica has room for and starts sending it.
// It reports whether it got as many as it asked for.
func (d *Dispatcher) leaseOnce() bool {
	d.mu.Lock()
	free := d.cfg.MaxInFlight - d.total
	var skip []string
	for id, ep := range d.endpoints {
		if ep.held >= d.cfg.PerEndpoint {
			skip = append(skip, id)
		}
	}
	d.mu.Unlock()
	if free <= 0 {
		return false // a finishing delivery wakes the loop
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	ds, err := d.st.Lease(ctx, alerting.LeaseRequest{Now: time.Now(), For: d.cfg.Lease, Max: free,
		PerWebhook: d.cfg.PerEndpoint, Skip: skip})
	if err != nil {
		if d.ctx.Err() == nil {
			d.m.leaseErrs.Inc()
			d.log.Warn("webhook: read the outbox", "err", err)
		}
		return false
	}
	for _, del := range ds {
		d.start(del)
	}
	return len(ds) == free
}

func (d *Dispatcher) start(del alerting.Delivery) {
	d.mu.Lock()
	ep := d.endpoints[del.WebhookID]
	if ep == nil {
		ep = &endpoint{sem: make(chan struct{}, d.cfg.PerEndpoint)}
		d.endpoints[del.WebhookID] = ep
	}
	ep.held++
	d.total++
	d.mu.Unlock()
	d.m.inflight.Inc()
	d.sends.Add(1)
	go func() {
		defer d.sends.Done()
		defer d.release(del.WebhookID, ep)
		select {
		case ep.sem <- struct{}{}:
		case <-d.ctx.Done():
			return
		}
		defer func() { <-ep.sem }()
		// The POST must end (Timeout) before the lease does, or another
		// replica could send it meanwhile; a second of margin for clocks.
		if time.Until(del.LeaseUntil) < d.cfg.Timeout+time.Second {
			return
		}
		d.deliver(del)
	}()
}

func (d *Dispatcher) release(id string, ep *endpoint) {
	d.mu.Lock()
	// Room again where there was none: lease now rather than at the next poll.
	wasFull := d.total == d.cfg.MaxInFlight || ep.held == d.cfg.PerEndpoint
	ep.held--
	d.total--
	if ep.held == 0 && d.endpoints[id] == ep {
		delete(d.endpoints, id)
	}
	d.mu.Unlock()
	d.m.inflight.Dec()
	if wasFull {
		d.Notify()
	}
}

// deliver sends one delivery and records the result in the Store.
func (d *Dispatcher) deliver(del alerting.Delivery) {
	if del.Target == alerting.TargetWebPush {
		d.deliverPush(del)
		return
	}
	log := d.log.With("team", del.Team, "webhook", del.WebhookID, "event", del.Event.ID, "delivery", del.ID, "attempt", del.Attempts+1)
	if err := CheckURL(del.URL, d.cfg.AllowHTTP); err != nil {
		// The policy changed since the endpoint was saved: no attempt is made.
		d.record(log, del, 0, fmt.Sprintf("endpoint URL refused: %v", err), true)
		return
	}
	start := time.Now()
	status, retryAfter, err := d.post(del, start)
	d.m.latency.WithLabelValues(del.Team, del.WebhookID).Observe(time.Since(start).Seconds())
	if err == nil && status >= 200 && status < 300 {
		d.count(del, resultDelivered)
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
		defer cancel()
		if err := d.st.Delivered(ctx, del); err != nil {
			// Lost lease: another replica sends it again (at least once).
			log.Debug("webhook: record a delivery", "err", err)
		}
		log.Debug("webhook: delivered", "status", status, "took", time.Since(start).String())
		return
	}
	reason := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		reason = err.Error()
	}
	d.record(log, del, retryAfter, reason, del.Attempts+1 >= d.cfg.MaxAttempts)
}

// record stores a failed attempt: retried after the backoff, or dead.
func (d *Dispatcher) record(log *slog.Logger, del alerting.Delivery, retryAfter time.Duration, reason string, dead bool) {
	var retryAt time.Time
	result := resultDeadLettered
	if !dead {
		retryAt = time.Now().Add(d.backoff(del.Attempts+1, retryAfter))
		result = resultFailed
	}
	d.count(del, result)
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	what := "webhook"
	if del.Target == alerting.TargetWebPush {
		what = "push"
	}
	if err := d.st.Failed(ctx, del, retryAt, reason); err != nil {
		log.Debug(what+": record a failed attempt", "err", err)
	}
	if dead {
		log.Warn(what+": delivery dead-lettered", "err", reason, "attempts", del.Attempts+1)
		return
	}
	d.warnFailing(log, what, del.WebhookID, reason, retryAt)
}

// count counts a delivery's attempt: webhook_deliveries_total, or
// push_deliveries_total (by team only: a team may have a push subscription
// per manager and browser).
func (d *Dispatcher) count(del alerting.Delivery, result string) {
	if del.Target == alerting.TargetWebPush {
		d.m.pushes.WithLabelValues(del.Team, result).Inc()
		return
	}
	d.m.deliveries.WithLabelValues(del.Team, del.WebhookID, result).Inc()
}

// warnFailing logs a failing endpoint at most once per 30 s, with the
// number of failures not logged since.
func (d *Dispatcher) warnFailing(log *slog.Logger, what, webhookID, reason string, retryAt time.Time) {
	d.mu.Lock()
	w := d.warned[webhookID]
	now := time.Now()
	if now.Sub(w.at) < 30*time.Second {
		w.suppressed++
		d.warned[webhookID] = w
		d.mu.Unlock()
		return
	}
	d.warned[webhookID] = warnState{at: now}
	d.mu.Unlock()
	log.Warn(what+": delivery failed, will retry", "err", reason, "retry_at", retryAt.UTC().Format(time.RFC3339), "similar_suppressed", w.suppressed)
}

// backoff is the wait before attempt+1, after attempt failed.
func (d *Dispatcher) backoff(attempt int, retryAfter time.Duration) time.Duration {
	wait := d.cfg.BackoffBase
	for i := 1; i < attempt && wait < d.cfg.BackoffMax; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.BackoffMax)
	wait = wait/2 + rand.N(wait/2+1) // jitter: the upper half
	return min(max(wait, retryAfter), d.cfg.BackoffMax)
}

// post sends the delivery and returns the answer's status and Retry-After.
func (d *Dispatcher) post(del alerting.Delivery, now time.Time) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(del.Event.JSON))
	if err != nil {
		return 0, 0, errors.New("bad endpoint URL")
	}
	ts := now.Unix()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "teamtrack-webhook/1")
	h.Set(HeaderEventID, del.Event.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(del.Secret, ts, del.Event.JSON))
	h.Set(HeaderAttempt, strconv.Itoa(del.Attempts+1))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // without the URL, which may carry a token
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", d.cfg.Timeout)
		}
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	_ = resp.Body.Close()
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
	}
	return resp.StatusCode, retryAfter, nil
}
