package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// RoundTripConfig configures RunRoundTrip: simulated WebSocket workers of
// one team report and ack the messages they get, while messages are sent to
// them one at a time through the API and a manager stream watches their
// delivery events.
type RoundTripConfig struct {
	// Team of the workers. Default "roundtrip".
	Team string
	// Workers in the team, each its own WebSocket; messages go to them
	// round robin, one recipient each. Default 10.
	Workers int
	// Interval between two positions of a worker until advice comes. Default 550ms.
	Interval time.Duration
	// WorkerURL is the base URL workers connect to (replica A). Required.
	WorkerURL string
	// SendURL is the base URL messages are POSTed to ({SendURL}{team}/messages),
	// possibly another replica. Default WorkerURL.
	SendURL string
	// WatchURL is the base URL of the manager stream that shows the delivery
	// events, possibly a third replica. Default SendURL.
	WatchURL string
	// WatchTransport: ManagerSSE (default) or ManagerWebSocket.
	WatchTransport ManagerTransport
	// Messages to send. Default 100.
	Messages int
	// Rate of messages per second. Default 5.
	Rate float64
	// Timeout is how long a message may take from the start of its POST to
	// its acked event on the stream; later, it counts as not acked. Default 10s.
	Timeout time.Duration
	// TTL of each message. Default: 1m, at least 2 × Timeout.
	TTL time.Duration
	// Ramp, Movement, Seed, Backoff, Status, ShutdownGrace, Logger,
	// HTTPClient, Auth, Now, IgnoreAdvice and ReadAfter are as in Config.
	Ramp          time.Duration
	Movement      Movement
	Seed          uint64
	Backoff       Backoff
	Status        Status
	ShutdownGrace time.Duration
	Logger        *slog.Logger
	HTTPClient    *http.Client
	Auth          Auth
	Now           func() time.Time
	IgnoreAdvice  bool
	ReadAfter     time.Duration
}

func (c RoundTripConfig) withDefaults() RoundTripConfig {
	w := Config{Movement: c.Movement, Backoff: c.Backoff, Status: c.Status, ShutdownGrace: c.ShutdownGrace, Logger: c.Logger, Now: c.Now}.withDefaults()
	c.Movement, c.Backoff, c.Status, c.ShutdownGrace, c.Logger, c.Now = w.Movement, w.Backoff, w.Status, w.ShutdownGrace, w.Logger, w.Now
	if c.Team == "" {
		c.Team = "roundtrip"
	}
	if c.Workers == 0 {
		c.Workers = 10
	}
	if c.Interval == 0 {
		c.Interval = 550 * time.Millisecond
	}
	if c.SendURL == "" {
		c.SendURL = c.WorkerURL
	}
	if c.WatchURL == "" {
		c.WatchURL = c.SendURL
	}
	if c.WatchTransport == "" {
		c.WatchTransport = ManagerSSE
	}
	if c.Messages == 0 {
		c.Messages = 100
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.TTL == 0 {
		c.TTL = max(time.Minute, 2*c.Timeout)
	}
	return c
}

func (c *RoundTripConfig) validate() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("roundtrip: %d workers", c.Workers)
	case c.Messages < 0:
		return fmt.Errorf("roundtrip: %d messages", c.Messages)
	case !(c.Rate > 0) || c.Rate > 1000:
		return fmt.Errorf("roundtrip: rate %v must be in (0, 1000] messages/s", c.Rate)
	case c.Timeout < 0 || c.TTL < time.Second || c.ReadAfter < 0:
		return errors.New("roundtrip: timeout and read-after must be >= 0, ttl >= 1s")
	case c.WorkerURL == "":
		return errors.New("roundtrip: no worker URL")
	}
	if err := tracking.ValidTeam(c.Team); err != nil {
		return fmt.Errorf("roundtrip: %w", err)
	}
	var err error
	if c.SendURL, err = normalizeBaseURL(c.SendURL); err != nil {
		return fmt.Errorf("roundtrip: send URL: %w", err)
	}
	if c.WatchURL, err = normalizeBaseURL(c.WatchURL); err != nil {
		return fmt.Errorf("roundtrip: watch URL: %w", err)
	}
	return c.WatchTransport.validate()
}

// RoundTripReport is the outcome of RunRoundTrip. Round trips run from the
// start of a message's POST to its event on the manager stream, both on this
// process's clock.
type RoundTripReport struct {
	Started time.Time      `json:"started"`
	Config  RoundTripShape `json:"config"`
	Seconds float64        `json:"seconds"`
	// Sent counts the messages the API took (201), SendErrors those it
	// refused or that failed.
	Sent       int64 `json:"sent"`
	SendErrors int64 `json:"sendErrors"`
	// Acked counts the messages whose acked event came within Timeout;
	// Unacked the others sent (Late of them acked after Timeout).
	Acked   int64 `json:"acked"`
	Unacked int64 `json:"unacked"`
	Late    int64 `json:"late"`
	Expired int64 `json:"expired,omitempty"`
	// UnackedStates is the stored state of the unacked messages'
	// recipients (GET .../messages/{id}, up to 50): "acked" there means
	// the event was lost on the stream, not the ack.
	UnackedStates map[string]int `json:"unackedStates,omitempty"`
	// Acked: POST start to the acked event; Delivered: to the delivered
	// event; Post: to the POST's answer.
	AckLatency       Latency `json:"ackLatency"`
	DeliveredLatency Latency `json:"deliveredLatency"`
	PostLatency      Latency `json:"postLatency"`
	WatchReconnects  int64   `json:"watchReconnects"`
	WatchErrors      int64   `json:"watchErrors"`
	Workers          Stats   `json:"workers"`
	LastError        string  `json:"lastError,omitempty"`
	Interrupted      bool    `json:"interrupted,omitempty"`
}

// RoundTripShape is the shape of a round-trip run.
type RoundTripShape struct {
	Team           string  `json:"team"`
	Workers        int     `json:"workers"`
	Messages       int     `json:"messages"`
	Rate           float64 `json:"rate"`
	TimeoutSeconds float64 `json:"timeoutSeconds"`
	WorkerURL      string  `json:"workerUrl"`
	SendURL        string  `json:"sendUrl"`
	WatchURL       string  `json:"watchUrl"`
	WatchTransport string  `json:"watchTransport"`
}

// rtMsg is one message of a round trip.
type rtMsg struct {
	start            time.Time
	posted           bool // the API took it
	delivered, acked bool // the events seen
	ackedAfter       time.Duration
}

// rtRun is the state of one RunRoundTrip.
type rtRun struct {
	cfg   RoundTripConfig
	env   *runEnv
	token string // message ids: rt-<token>-<n>

	mu   sync.Mutex
	msgs map[string]*rtMsg

	ack, delivered, post Histogram
	sent, sendErrors     atomic.Int64
	acked, late, expired atomic.Int64

	watchConnected, watchReconnects, watchErrors atomic.Int64
	lastError                                    atomic.Pointer[string]
}

func (rt *rtRun) fail(err error) {
	s := err.Error()
	rt.lastError.Store(&s)
}

// RunRoundTrip measures how long a message takes from a manager's POST to
// the worker's ack as the manager stream shows it: it starts the workers,
// the stream, waits until every worker has reported once, sends the
// messages at Rate, waits up to Timeout for the last acks and returns the
// report.
func RunRoundTrip(ctx context.Context, cfg RoundTripConfig) (*RoundTripReport, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	creds, err := newCredentials(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("roundtrip: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = newHTTPClient()
		defer client.CloseIdleConnections()
	}
	sim, err := New(Config{
		Teams: []Team{{Name: cfg.Team, Workers: cfg.Workers, Interval: cfg.Interval, URL: cfg.WorkerURL, Transport: TransportWebSocket}},
		Ramp:  cfg.Ramp, Movement: cfg.Movement, Seed: cfg.Seed, Backoff: cfg.Backoff, Status: cfg.Status, ShutdownGrace: cfg.ShutdownGrace,
		Logger: cfg.Logger, HTTPClient: client, Auth: cfg.Auth, Now: cfg.Now, IgnoreAdvice: cfg.IgnoreAdvice, ReadAfter: cfg.ReadAfter,
	})
	if err != nil {
		return nil, fmt.Errorf("roundtrip: %w", err)
	}
	log := cfg.Logger
	rt := &rtRun{cfg: cfg, token: newRunToken(), msgs: make(map[string]*rtMsg, cfg.Messages),
		env: &runEnv{client: client, log: log, backoff: cfg.Backoff, creds: creds, refusalLogged: new(atomic.Bool)}}
	sim.statusExtra = rt.statusAttrs
	started := time.Now()
	log.Info("round trip starting", "team", cfg.Team, "workers", cfg.Workers, "messages", cfg.Messages, "rate", cfg.Rate,
		"worker_url", cfg.WorkerURL, "send_url", cfg.SendURL, "watch_url", cfg.WatchURL, "watch", cfg.WatchTransport)

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	wg.Go(func() { _ = sim.Run(runCtx) })
	wg.Go(func() { rt.watch(runCtx) })
	defer wg.Wait()
	defer stopRun()

	ready := func() bool {
		if rt.watchConnected.Load() == 0 {
			return false
		}
		for _, w := range sim.workers {
			if w.lastSent.Load() == 0 {
				return false
			}
		}
		return true
	}
	if !waitUntil(ctx, 30*time.Second+sim.cfg.Ramp, ready) && ctx.Err() == nil {
		log.Warn("not every worker reporting or no manager stream yet; sending anyway",
			"workers_connected", sim.Stats().WorkersConnected, "stream_connected", rt.watchConnected.Load() > 0)
	}
	ids := make([]string, len(sim.workers))
	for i, w := range sim.workers {
		ids[i] = w.id
	}
	rt.sendAll(ctx, ids)
	waitUntil(ctx, cfg.Timeout+time.Second, rt.settled)
	interrupted := ctx.Err() != nil
	elapsed := time.Since(started)
	r := rt.report(started, elapsed, interrupted)
	if !interrupted && r.Unacked > 0 {
		r.UnackedStates = rt.unackedStates(ctx)
	}
	stopRun()
	wg.Wait()
	r.Workers = sim.Stats()
	if r.LastError == "" {
		r.LastError = r.Workers.LastError
	}
	log.Info("round trip finished", "sent", r.Sent, "acked", r.Acked, "unacked", r.Unacked,
		"p50_ms", r.AckLatency.P50Ms, "p99_ms", r.AckLatency.P99Ms)
	return r, nil
}

// sendAll POSTs the messages at the configured rate, each to the next
// worker, each POST in its own goroutine (at most 64 at once).
func (rt *rtRun) sendAll(ctx context.Context, workers []string) {
	if len(workers) == 0 {
		return
	}
	cred := managerCredential(0, rt.cfg.Team)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rt.cfg.Rate))
	defer tick.Stop()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range rt.cfg.Messages {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		header, err := cred.header(rt.env.creds)
		if err != nil {
			rt.sendErrors.Add(1)
			rt.fail(err)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		id := fmt.Sprintf("rt-%s-%06d", rt.token, i)
		to := workers[i%len(workers)]
		wg.Go(func() {
			defer func() { <-sem }()
			rt.send(ctx, header, id, to, i)
		})
	}
}

// send POSTs one message to worker to.
func (rt *rtRun) send(ctx context.Context, header http.Header, id, to string, n int) {
	body, _ := json.Marshal(map[string]any{
		"id": id, "to": []string{to}, "ttl": rt.cfg.TTL.String(),
		"body": map[string]any{"kind": "roundtrip", "n": n},
	})
	url := rt.cfg.SendURL + rt.cfg.Team + "/messages"
	rctx, cancel := context.WithTimeout(ctx, max(rt.cfg.Timeout, time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		rt.sendFailed(id, err)
		return
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	m := &rtMsg{}
	rt.mu.Lock()
	rt.msgs[id] = m
	m.start = time.Now() // the stream's events are matched once the entry exists
	rt.mu.Unlock()
	resp, err := rt.env.client.Do(req)
	if err != nil {
		rt.sendFailed(id, fmt.Errorf("POST %s: %w", url, err))
		return
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		rt.sendFailed(id, fmt.Errorf("POST %s: %d %s: %s", url, resp.StatusCode, http.StatusText(resp.StatusCode), errorMessage(answer)))
		return
	}
	rt.mu.Lock()
	m.posted = true
	rt.post.Record(time.Since(m.start))
	rt.mu.Unlock()
	rt.sent.Add(1)
}

func (rt *rtRun) sendFailed(id string, err error) {
	rt.mu.Lock()
	delete(rt.msgs, id)
	rt.mu.Unlock()
	rt.sendErrors.Add(1)
	rt.fail(err)
	rt.env.log.Debug("message not sent", "id", id, "err", err)
}

// delivery takes a delivery event received at now.
func (rt *rtRun) delivery(rec []byte, now time.Time) {
	var d struct {
		MessageID string `json:"messageId"`
		State     string `json:"state"`
	}
	if json.Unmarshal(rec, &d) != nil || !strings.HasPrefix(d.MessageID, "rt-"+rt.token+"-") {
		return // another run's, or not one
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m := rt.msgs[d.MessageID]
	if m == nil {
		return
	}
	after := now.Sub(m.start)
	switch d.State {
	case "delivered":
		if !m.delivered {
			m.delivered = true
			rt.delivered.Record(after)
		}
	case "acked":
		if m.acked {
			return // an ack of a redelivery
		}
		m.acked, m.ackedAfter = true, after
		if after <= rt.cfg.Timeout {
			rt.acked.Add(1)
			rt.ack.Record(after)
		} else {
			rt.late.Add(1)
		}
	case "expired":
		rt.expired.Add(1)
	}
}

// settled reports whether every message sent is acked or past its timeout.
func (rt *rtRun) settled() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, m := range rt.msgs {
		if !m.acked && time.Since(m.start) <= rt.cfg.Timeout {
			return false
		}
	}
	return true
}

// watch reads the team's manager stream, reconnecting, until ctx is done.
func (rt *rtRun) watch(ctx context.Context) {
	cred := managerCredential(1, rt.cfg.Team)
	attempt, connectedBefore := 0, false
	for {
		started := time.Now()
		err := rt.watchOnce(ctx, &cred, &connectedBefore)
		if ctx.Err() != nil {
			return
		}
		var delay time.Duration
		if isHint(err) {
			attempt, delay = 0, rt.env.backoff.HintDelay()
		} else {
			rt.watchErrors.Add(1)
			rt.fail(fmt.Errorf("manager stream: %w", err))
			rt.env.reportRefusal(err)
			if time.Since(started) >= rt.env.backoff.ResetAfter {
				attempt = 0
			}
			delay = rt.env.backoff.Delay(attempt)
			attempt++
		}
		rt.env.log.Debug("manager stream ended", "err", err, "retry_in", delay)
		if !sleep(ctx.Done(), delay) {
			return
		}
	}
}

func (rt *rtRun) watchOnce(ctx context.Context, cred *credential, connectedBefore *bool) error {
	header, err := cred.header(rt.env.creds)
	if err != nil {
		return err
	}
	c, err := apiclient.New(rt.cfg.WatchURL, apiclient.Config{HTTPClient: rt.env.client, Header: header, DialTimeout: dialTimeout})
	if err != nil {
		return err
	}
	open := (*apiclient.Client).WatchSSE
	if rt.cfg.WatchTransport == ManagerWebSocket {
		open = (*apiclient.Client).WatchWS
	}
	s, err := open(c, ctx, rt.cfg.Team)
	if err != nil {
		return refusal(err, header)
	}
	defer s.Close()
	if *connectedBefore {
		rt.watchReconnects.Add(1)
	}
	*connectedBefore = true
	rt.watchConnected.Add(1)
	defer rt.watchConnected.Add(-1)
	for {
		ev, err := s.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ev.Delivery != nil {
			rt.delivery(ev.Delivery, time.Now())
		}
		if e := ev.Error; e != nil {
			rt.watchErrors.Add(1)
			rt.fail(fmt.Errorf("manager stream: server error %s: %s", e.Code, e.Message))
		}
	}
}

// unackedStates asks the API for the stored state of up to 50 unacked
// messages and counts their recipients by state.
func (rt *rtRun) unackedStates(ctx context.Context) map[string]int {
	rt.mu.Lock()
	var ids []string
	for id, m := range rt.msgs {
		if m.posted && (!m.acked || m.ackedAfter > rt.cfg.Timeout) && len(ids) < 50 {
			ids = append(ids, id)
		}
	}
	rt.mu.Unlock()
	cred := managerCredential(0, rt.cfg.Team)
	header, err := cred.header(rt.env.creds)
	if err != nil {
		return nil
	}
	out := make(map[string]int)
	for _, id := range ids {
		var v struct {
			States map[string]int `json:"states"`
		}
		if err := rt.getJSON(ctx, header, rt.cfg.SendURL+rt.cfg.Team+"/messages/"+id, &v); err != nil {
			out["unknown"]++
			rt.env.log.Debug("message state", "id", id, "err", err)
			continue
		}
		for s, n := range v.States {
			out[s] += n
		}
	}
	return out
}

func (rt *rtRun) getJSON(ctx context.Context, header http.Header, url string, v any) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := rt.env.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %s", url, resp.StatusCode, errorMessage(b))
	}
	return json.Unmarshal(b, v)
}

func (rt *rtRun) report(started time.Time, elapsed time.Duration, interrupted bool) *RoundTripReport {
	c := rt.cfg
	r := &RoundTripReport{
		Started: started, Seconds: round(elapsed.Seconds(), 1000), Interrupted: interrupted,
		Config: RoundTripShape{Team: c.Team, Workers: c.Workers, Messages: c.Messages, Rate: c.Rate, TimeoutSeconds: c.Timeout.Seconds(),
			WorkerURL: c.WorkerURL, SendURL: c.SendURL, WatchURL: c.WatchURL, WatchTransport: string(c.WatchTransport)},
		Sent: rt.sent.Load(), SendErrors: rt.sendErrors.Load(),
		Acked: rt.acked.Load(), Late: rt.late.Load(), Expired: rt.expired.Load(),
		AckLatency: latencyOf(&rt.ack), DeliveredLatency: latencyOf(&rt.delivered), PostLatency: latencyOf(&rt.post),
		WatchReconnects: rt.watchReconnects.Load(), WatchErrors: rt.watchErrors.Load(),
	}
	r.Unacked = r.Sent - r.Acked
	if p := rt.lastError.Load(); p != nil {
		r.LastError = *p
	}
	return r
}

func (rt *rtRun) statusAttrs() []slog.Attr {
	a := []slog.Attr{
		slog.Int64("msgs_sent", rt.sent.Load()),
		slog.Int64("msgs_acked", rt.acked.Load()),
	}
	if rt.ack.Count() > 0 {
		a = append(a, slog.String("ack_p50", fmtMs(rt.ack.Quantile(0.5))), slog.String("ack_p99", fmtMs(rt.ack.Quantile(0.99))))
	}
	if n := rt.sendErrors.Load(); n > 0 {
		a = append(a, slog.Int64("send_errors", n))
	}
	if rt.watchConnected.Load() == 0 {
		a = append(a, slog.String("stream", "down"))
	}
	return a
}

// WriteTable writes r as a human-readable summary.
func (r *RoundTripReport) WriteTable(w io.Writer) error {
	tw := newTable(w)
	c := r.Config
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("shape", "%d messages at %g/s to %d workers of %s; timeout %gs", c.Messages, c.Rate, c.Workers, c.Team, c.TimeoutSeconds)
	row("urls", "workers %s, send %s, watch %s (%s)", c.WorkerURL, c.SendURL, c.WatchURL, c.WatchTransport)
	suffix := ""
	if r.Interrupted {
		suffix = " (interrupted)"
	}
	row("duration", "%.1fs%s", r.Seconds, suffix)
	row("sent", "%d (%d send errors)", r.Sent, r.SendErrors)
	row("acked", "%d within the timeout; %d not (%d late)", r.Acked, r.Unacked, r.Late)
	l := r.AckLatency
	row("POST -> acked", "p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms  (n=%d)", l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Count)
	l = r.DeliveredLatency
	row("POST -> delivered", "p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms  (n=%d)", l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Count)
	l = r.PostLatency
	row("POST answer", "p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms  (n=%d)", l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Count)
	if len(r.UnackedStates) > 0 {
		row("unacked, stored state", "%v", r.UnackedStates)
	}
	if r.Expired > 0 {
		row("expired", "%d", r.Expired)
	}
	s := r.Workers
	row("workers", "%d sent, %d messages, %d acks, %d reads, intervals %s", s.Sent, s.Messages, s.Acks, s.Reads, s.Intervals)
	row("stream", "%d reconnects, %d errors", r.WatchReconnects, r.WatchErrors)
	row("worker errors", "%d, reconnects %d", s.Errors, s.Reconnects)
	if r.LastError != "" {
		row("last error", "%s", r.LastError)
	}
	return tw.Flush()
}

// WriteJSON writes r, indented, to path.
func (r *RoundTripReport) WriteJSON(path string) error { return writeJSONFile(path, r) }
