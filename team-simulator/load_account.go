package simulator

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// FanoutReport is count mode's figure (LoadConfig.Positions): how long the
// deliveries owed to every manager took, from the first position sent to
// the last one received.
type FanoutReport struct {
	// PositionsPerWorker each worker sent, to Managers managers in all.
	PositionsPerWorker int `json:"positionsPerWorker"`
	Managers           int `json:"managers"`
	// Expected deliveries (the loss report's, Σ over managers of the
	// positions owed to each) and Delivered of them.
	Expected  int64 `json:"expected"`
	Delivered int64 `json:"delivered"`
	// FirstSend is when the first position was sent, LastReceipt when the
	// last owed position reached its manager; Seconds between them, and
	// DeliveriesPerSecond = Delivered / Seconds.
	FirstSend           time.Time `json:"firstSend"`
	LastReceipt         time.Time `json:"lastReceipt"`
	Seconds             float64   `json:"seconds"`
	DeliveriesPerSecond float64   `json:"deliveriesPerSecond"`
}

// startManagers starts every manager in g, ManagerRate per second (all at
// once without), spread over the source addresses.
func (lr *loadRun) startManagers(ctx context.Context, g *group) {
	clients := make([]*http.Client, 0, len(lr.cfg.ManagerSources))
	for _, src := range lr.cfg.ManagerSources {
		clients = append(clients, newHTTPClientFrom(src))
	}
	var tick <-chan time.Time
	if r := lr.cfg.ManagerRate; r > 0 {
		t := time.NewTicker(max(time.Duration(float64(time.Second)/r), time.Microsecond))
		defer t.Stop()
		tick = t.C
	}
	for i, m := range lr.managers {
		m.env = g.env
		if len(clients) > 0 {
			m.client = clients[i%len(clients)]
		}
		g.goRun(m.run)
		if tick == nil || i == len(lr.managers)-1 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if (i+1)%5000 == 0 {
			lr.cfg.Logger.Info("load: connecting managers", "started", i+1, "connected", lr.c.managersConnected.Load())
		}
	}
}

// newHTTPClientFrom is newHTTPClient with its connections made from the
// local address src.
func newHTTPClientFrom(src netip.Addr) *http.Client {
	c := newHTTPClient()
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c.Transport.(*http.Transport).DialContext = d.DialContext
	return c
}

// allSent reports whether every worker has attempted its positions (count
// mode).
func (lr *loadRun) allSent() bool {
	for _, w := range lr.workers {
		if w.attempted.Load() < w.limit {
			return false
		}
	}
	return true
}

// scrape reads every metrics URL; a failed one is kept as an error.
func (lr *loadRun) scrape(ctx context.Context, client *http.Client) []ReplicaScrape {
	out := make([]ReplicaScrape, 0, len(lr.cfg.MetricsURLs))
	for _, u := range lr.cfg.MetricsURLs {
		c, lat, err := scrapeReplica(ctx, client, u)
		s := ReplicaScrape{URL: u, Counters: c, latency: lat}
		if err != nil {
			s.Error = err.Error()
			lr.cfg.Logger.Warn("load: metrics scrape failed", "url", u, "err", err)
		}
		out = append(out, s)
	}
	return out
}

// account closes every manager's ledgers (after the managers and workers
// have stopped) and adds them up with the replicas' counters.
func (lr *loadRun) account(before, after []ReplicaScrape, grace time.Duration) *LossReport {
	accounts := make([]managerAccount, 0, len(lr.managers))
	for _, m := range lr.managers {
		a := managerAccount{name: m.cred.claims.Subject, team: m.team.name, connected: m.connectedBefore,
			reconnects: m.reconnects, pairs: make([]pairLoss, len(m.team.workers))}
		for i, w := range m.team.workers {
			a.pairs[i] = m.ledger[i].finish(w.attempted.Load(), w.failed, w.rejectedSeqs(), w.rejectedNoID.Load())
		}
		accounts = append(accounts, a)
	}
	var replicas []ReplicaScrape
	for i, b := range before {
		if i >= len(after) {
			break
		}
		a := after[i]
		r := ReplicaScrape{URL: b.URL, Counters: a.Counters.minus(b.Counters)}
		switch {
		case b.Error != "":
			r.Error, r.Counters = b.Error, ServerCounters{}
		case a.Error != "":
			r.Error, r.Counters = a.Error, ServerCounters{}
		}
		replicas = append(replicas, r)
	}
	return accountLoss(accounts, replicas, grace)
}

// serverLatency is the replicas' delivery latency histogram over the window
// (the scrapes at its start and end, summed over -metrics-url); nil without
// metrics URLs or observations.
func serverLatency(start, end []ReplicaScrape) *ServerLatency {
	sum := latencyBuckets{}
	for i, e := range end {
		if i >= len(start) || start[i].Error != "" || e.Error != "" {
			continue
		}
		for le, n := range e.latency.since(start[i].latency) {
			sum[le] += n
		}
	}
	p50, ok := sum.quantile(0.50)
	if !ok {
		return nil
	}
	p95, _ := sum.quantile(0.95)
	p99, _ := sum.quantile(0.99)
	return &ServerLatency{Count: int64(sum[math.Inf(1)]), P50Ms: round(p50*1000, 10), P95Ms: round(p95*1000, 10), P99Ms: round(p99*1000, 10)}
}

// fanout is count mode's figure, from the run's first send to the last
// owed position received.
func (lr *loadRun) fanout(r *Report) *FanoutReport {
	f := &FanoutReport{PositionsPerWorker: lr.cfg.Positions, Managers: len(lr.managers)}
	if r.Loss != nil {
		f.Expected, f.Delivered = r.Loss.Expected, r.Loss.Delivered
	}
	var last int64
	for _, m := range lr.managers {
		for i := range m.ledger {
			last = max(last, m.ledger[i].lastAt)
		}
	}
	first := lr.firstSend.Load()
	if first == 0 || last < first {
		return f
	}
	f.FirstSend, f.LastReceipt = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	secs := float64(last-first) / 1e9
	f.Seconds = round(secs, 1000)
	if secs > 0 {
		f.DeliveriesPerSecond = round(float64(f.Delivered)/secs, 10)
	}
	return f
}
