package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a load run. Rates are per second of the
// measurement window; latency is a manager's receive time minus the record's
// timeStamp (stamped by the worker just before sending, with millisecond
// precision, so figures overstate by up to 1 ms).
type Report struct {
	Started           time.Time    `json:"started"`
	WindowSeconds     float64      `json:"windowSeconds"`
	Interrupted       bool         `json:"interrupted,omitempty"`
	Config            ReportConfig `json:"config"`
	Sent              int64        `json:"sent"`              // positions written by workers in the window
	SentPerSecond     float64      `json:"sentPerSecond"`     // in/s
	Received          int64        `json:"received"`          // new positions seen by managers in the window
	ReceivedPerSecond float64      `json:"receivedPerSecond"` // deliveries/s
	// WatchedSentPerSecond and UnwatchedSentPerSecond split SentPerSecond
	// between the teams with managers and those without, when only some
	// have (ReportConfig.WatchedTeams).
	WatchedSentPerSecond   float64 `json:"watchedSentPerSecond,omitempty"`
	UnwatchedSentPerSecond float64 `json:"unwatchedSentPerSecond,omitempty"`
	// ExpectedPerSecond is SentPerSecond of the watched teams × managers per team: the deliveries
	// a stream that skips nothing would make.
	ExpectedPerSecond float64 `json:"expectedPerSecond"`
	Latency           Latency `json:"latency"`
	// ServerLatency is the servers' share of Latency: from the ingesting
	// replica's receipt to the write on the manager's stream, read from
	// the replicas' metrics (-metrics-url) over the window. Latency minus
	// it is the generator's share (stamping to sending, the loopback, and
	// the managers' reading). Absent without -metrics-url.
	ServerLatency *ServerLatency `json:"serverLatency,omitempty"`
	// MissedLatest counts (manager, worker) pairs where the manager never saw
	// the worker's last position, out of Pairs: a stream may skip superseded
	// positions, never the latest.
	MissedLatest int64 `json:"missedLatest"`
	Pairs        int64 `json:"pairs"`
	// Skipped counts positions a manager never saw but saw a newer one of the
	// same worker (conflation, allowed), over the whole run.
	Skipped int64 `json:"skipped"`
	// Alerts counts the alert events managers received during the window,
	// each manager those of its team; AlertsPerSecond per second of it.
	Alerts          AlertCounts `json:"alerts"`
	AlertsPerSecond float64     `json:"alertsPerSecond"`
	// Intervals is how many workers reported at each interval ("1s": 95)
	// when the window closed, and Advice how much sampling advice they got
	// in it: with advice, SentPerSecond follows what managers watch.
	Intervals map[string]int64 `json:"intervals,omitempty"`
	Advice    int64            `json:"advice"`
	// Messages are the dispatch messages workers received in the window,
	// Acks and Reads the acks and read receipts they sent.
	Messages int64 `json:"messages"`
	Acks     int64 `json:"acks"`
	Reads    int64 `json:"reads,omitempty"`
	// Loss accounts for every position owed to every manager (LossReport);
	// absent without managers.
	Loss *LossReport `json:"loss,omitempty"`
	// Fanout is count mode's figure (-positions): first send to last
	// receipt; absent otherwise.
	Fanout *FanoutReport `json:"fanout,omitempty"`
	// Geofences is what -geofences did; absent without.
	Geofences         *GeofenceReport `json:"geofences,omitempty"`
	Duplicates        int64           `json:"duplicates"`
	Foreign           int64           `json:"foreign"`
	WorkerReconnects  int64           `json:"workerReconnects"`
	ManagerReconnects int64           `json:"managerReconnects"`
	WorkerErrors      int64           `json:"workerErrors"`
	ManagerErrors     int64           `json:"managerErrors"`
	LastError         string          `json:"lastError,omitempty"`
	Servers           []ProcessReport `json:"servers,omitempty"`
	// ServerCPUSeconds is the CPU time of every server process over the window.
	ServerCPUSeconds float64 `json:"serverCpuSeconds,omitempty"`
	// DeliveriesPerServerCPUSecond = Received / ServerCPUSeconds.
	DeliveriesPerServerCPUSecond float64       `json:"deliveriesPerServerCpuSecond,omitempty"`
	Generator                    ProcessReport `json:"generator"`
}

// ReportConfig is the shape of the run.
type ReportConfig struct {
	Workers          int      `json:"workers"`
	Teams            int      `json:"teams"`
	ManagersPerTeam  int      `json:"managersPerTeam"`
	WatchedTeams     int      `json:"watchedTeams,omitempty"`
	Rate             float64  `json:"rate"`
	Strategy         string   `json:"strategy,omitempty"`
	WorkerTransport  string   `json:"workerTransport"`
	ManagerTransport string   `json:"managerTransport"`
	WorkerURLs       []string `json:"workerUrls"`
	ManagerURLs      []string `json:"managerUrls"`
	Seed             uint64   `json:"seed"`
	IgnoreAdvice     bool     `json:"ignoreAdvice,omitempty"`
	// Positions per worker in count mode (-positions).
	Positions     int      `json:"positions,omitempty"`
	MetricsURLs   []string `json:"metricsUrls,omitempty"`
	ManagerResume bool     `json:"managerResume,omitempty"`
}

// ServerLatency summarises the replicas' tracking_delivery_latency_seconds
// over the window, in milliseconds, interpolated within the histogram's
// buckets.
type ServerLatency struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P95Ms float64 `json:"p95Ms"`
	P99Ms float64 `json:"p99Ms"`
}

// Latency summarises the latency histogram, in milliseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P95Ms  float64 `json:"p95Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
	MeanMs float64 `json:"meanMs"`
}

// ProcessReport is one process's resource use over the window.
type ProcessReport struct {
	PID          int     `json:"pid"`
	Name         string  `json:"name,omitempty"`
	CPUSeconds   float64 `json:"cpuSeconds"`
	Cores        float64 `json:"cores"` // CPUSeconds / window
	PeakRSSBytes int64   `json:"peakRssBytes"`
	Error        string  `json:"error,omitempty"`
}

type reportInput struct {
	started, windowStart, windowEnd time.Time
	before, after                   Stats
	procStart, procEnd              map[int]procSample
	interrupted                     bool
	sentBefore, sentAfter           []int64 // per worker, in loadRun.workers' order
}

func (lr *loadRun) report(in reportInput) *Report {
	cfg := lr.cfg
	window := in.windowEnd.Sub(in.windowStart).Seconds()
	per := func(n int64) float64 {
		if window <= 0 {
			return 0
		}
		return float64(n) / window
	}
	r := &Report{
		Started:       in.started,
		WindowSeconds: round(window, 1000),
		Interrupted:   in.interrupted,
		Config: ReportConfig{
			Workers: cfg.Workers, Teams: cfg.Teams, ManagersPerTeam: cfg.ManagersPerTeam, WatchedTeams: cfg.WatchedTeams, Rate: cfg.Rate,
			Strategy: cfg.Strategy, WorkerTransport: string(cfg.WorkerTransport), ManagerTransport: string(cfg.ManagerTransport),
			WorkerURLs: cfg.WorkerURLs, ManagerURLs: cfg.ManagerURLs, Seed: cfg.Seed, IgnoreAdvice: cfg.IgnoreAdvice,
			Positions: cfg.Positions, MetricsURLs: cfg.MetricsURLs, ManagerResume: !cfg.ManagerNoResume && cfg.ManagersPerTeam > 0,
		},
		Sent:     in.after.Sent - in.before.Sent,
		Received: in.after.Received - in.before.Received,
	}
	r.Intervals = in.after.Intervals.Map()
	r.Advice = in.after.Advice - in.before.Advice
	r.Messages, r.Acks, r.Reads = in.after.Messages-in.before.Messages, in.after.Acks-in.before.Acks, in.after.Reads-in.before.Reads
	r.Alerts = in.after.Alerts.minus(in.before.Alerts)
	r.AlertsPerSecond = round(per(r.Alerts.Total), 10)
	r.SentPerSecond = round(per(r.Sent), 10)
	r.ReceivedPerSecond = round(per(r.Received), 10)
	var watchedSent, unwatchedSent int64
	for i := range lr.workers {
		if i >= len(in.sentBefore) || i >= len(in.sentAfter) {
			break
		}
		d := in.sentAfter[i] - in.sentBefore[i]
		if lr.teams[i%len(lr.teams)].watched {
			watchedSent += d
		} else {
			unwatchedSent += d
		}
	}
	if cfg.WatchedTeams > 0 {
		r.WatchedSentPerSecond, r.UnwatchedSentPerSecond = round(per(watchedSent), 10), round(per(unwatchedSent), 10)
	}
	r.ExpectedPerSecond = round(per(watchedSent)*float64(cfg.ManagersPerTeam), 10)
	r.Latency = latencyOf(&lr.latency)
	for _, m := range lr.managers {
		for i, w := range m.team.workers {
			last := w.lastSent.Load()
			if last == 0 {
				continue
			}
			r.Pairs++
			if seen := m.seen[i].Load(); seen < last {
				r.MissedLatest++
				if r.MissedLatest <= 10 {
					cfg.Logger.Debug("manager never saw a worker's latest position",
						"manager", m.n, "team", m.team.name, "worker", w.id, "last_sent", last, "last_seen", seen)
				}
			}
			r.Skipped += max(0, w.sent.Load()-m.got[i])
		}
	}
	end := lr.c.snapshot()
	r.Duplicates, r.Foreign = end.Duplicates, end.Foreign
	r.WorkerReconnects, r.ManagerReconnects = end.Reconnects, end.ManagerReconnects
	r.WorkerErrors, r.ManagerErrors, r.LastError = end.Errors, end.ManagerErrors, end.LastError

	var serverCPU float64
	for _, pid := range cfg.PIDs {
		p := processReport(pid, in.procStart[pid], in.procEnd[pid], window)
		serverCPU += p.CPUSeconds
		r.Servers = append(r.Servers, p)
	}
	if len(cfg.PIDs) > 0 {
		r.ServerCPUSeconds = round(serverCPU, 100)
		if serverCPU > 0 {
			r.DeliveriesPerServerCPUSecond = math.Round(float64(r.Received) / serverCPU)
		}
	}
	self := os.Getpid()
	r.Generator = processReport(self, in.procStart[self], in.procEnd[self], window)
	return r
}

func processReport(pid int, start, end procSample, window float64) ProcessReport {
	p := ProcessReport{PID: pid, Name: end.Name, PeakRSSBytes: end.PeakRSS}
	switch {
	case start.err != nil:
		p.Error = start.err.Error()
	case end.err != nil:
		p.Error = end.err.Error()
	default:
		p.CPUSeconds = round((end.CPU - start.CPU).Seconds(), 100)
		if window > 0 {
			p.Cores = round(p.CPUSeconds/window, 100)
		}
	}
	return p
}

// latencyOf summarises h.
func latencyOf(h *Histogram) Latency {
	return Latency{
		Count: h.Count(), P50Ms: ms(h.Quantile(0.50)), P90Ms: ms(h.Quantile(0.90)), P95Ms: ms(h.Quantile(0.95)),
		P99Ms: ms(h.Quantile(0.99)), MaxMs: ms(h.Max()), MeanMs: ms(h.Mean()),
	}
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1000) }

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// WriteJSON writes r, indented, to path.
func (r *Report) WriteJSON(path string) error { return writeJSONFile(path, r) }

func writeJSONFile(path string, r any) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable writes r as a human-readable summary.
func (r *Report) WriteTable(w io.Writer) error {
	tw := newTable(w)
	c := r.Config
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	transports := c.WorkerTransport
	if c.ManagersPerTeam > 0 {
		transports += " -> " + c.ManagerTransport
	}
	row("shape", "%d workers, %d teams, %d managers/team, %g positions/s per worker (%s)",
		c.Workers, c.Teams, c.ManagersPerTeam, c.Rate, transports)
	if c.Strategy != "" {
		row("strategy", "%s", c.Strategy)
	}
	suffix := ""
	if r.Interrupted {
		suffix = " (interrupted)"
	}
	row("window", "%.1fs%s", r.WindowSeconds, suffix)
	row("sent", "%d (%.0f/s)", r.Sent, r.SentPerSecond)
	if c.WatchedTeams > 0 {
		row("sent by teams", "watched (%d) %.0f/s, unwatched (%d) %.0f/s", c.WatchedTeams, r.WatchedSentPerSecond,
			c.Teams-c.WatchedTeams, r.UnwatchedSentPerSecond)
	}
	if len(r.Intervals) > 0 {
		ignored := ""
		if c.IgnoreAdvice {
			ignored = ", ignored"
		}
		row("intervals", "%s  (workers per reporting interval; %d advice%s)", intervalsText(r.Intervals), r.Advice, ignored)
	}
	if r.Messages > 0 || r.Acks > 0 {
		row("messages", "%d received, %d acked, %d read", r.Messages, r.Acks, r.Reads)
	}
	if c.ManagersPerTeam > 0 {
		row("received", "%d (%.0f/s of %.0f/s expected)", r.Received, r.ReceivedPerSecond, r.ExpectedPerSecond)
		l := r.Latency
		row("latency", "p50 %.1fms  p95 %.1fms  p99 %.1fms  max %.1fms  mean %.1fms  (n=%d)", l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs, l.MeanMs, l.Count)
		if sl := r.ServerLatency; sl != nil {
			row("  of which servers", "p50 %.1fms  p95 %.1fms  p99 %.1fms  (n=%d; the ingesting replica's receipt to the manager stream's write, from the replicas' histogram)", sl.P50Ms, sl.P95Ms, sl.P99Ms, sl.Count)
		}
		row("missed latest", "%d of %d manager-worker pairs", r.MissedLatest, r.Pairs)
		row("skipped", "%d  (never seen, a newer one seen: conflated or refused; see loss)", r.Skipped)
		row("duplicates / foreign", "%d / %d", r.Duplicates, r.Foreign)
		if a := r.Alerts; a.Total > 0 || r.Geofences != nil {
			row("alerts", "%d (%.0f/s): enter %d, exit %d, dwell %d, other %d", a.Total, r.AlertsPerSecond, a.Enter, a.Exit, a.Dwell, a.Other)
		}
	}
	if f := r.Fanout; f != nil {
		row("fanout", "%d of %d deliveries (%d managers, %d positions per worker) in %.3fs from first send to last receipt: %.0f/s",
			f.Delivered, f.Expected, f.Managers, f.PositionsPerWorker, f.Seconds, f.DeliveriesPerSecond)
	}
	if l := r.Loss; l != nil {
		writeLoss(row, l)
	}
	if g := r.Geofences; g != nil {
		end := fmt.Sprintf("%d deleted", g.Deleted)
		switch {
		case g.Kept:
			end = "kept"
		case g.DeleteError != "":
			end += " (" + g.DeleteError + ")"
		}
		row("geofences", "%d created in %.1fs (%d circles, %d polygons; %d with dwell, %d with schedule); %s",
			g.Created, g.CreateSeconds, g.Circles, g.Polygons, g.WithDwell, g.WithSchedule, end)
	}
	row("reconnects", "workers %d, managers %d", r.WorkerReconnects, r.ManagerReconnects)
	row("errors", "workers %d, managers %d", r.WorkerErrors, r.ManagerErrors)
	if r.LastError != "" {
		row("last error", "%s", r.LastError)
	}
	for _, p := range append(append([]ProcessReport(nil), r.Servers...), r.Generator) {
		label := fmt.Sprintf("process %d (%s)", p.PID, p.Name)
		if p.PID == r.Generator.PID {
			label = fmt.Sprintf("generator %d", p.PID)
		}
		if p.Error != "" {
			row(label, "error: %s", p.Error)
			continue
		}
		row(label, "cpu %.2fs (%.2f cores)  peak rss %.1f MiB", p.CPUSeconds, p.Cores, float64(p.PeakRSSBytes)/(1<<20))
	}
	switch {
	case len(r.Servers) > 0 && c.ManagersPerTeam > 0:
		row("server cpu", "%.2fs; %.0f deliveries per server cpu-second", r.ServerCPUSeconds, r.DeliveriesPerServerCPUSecond)
	case len(r.Servers) > 0:
		row("server cpu", "%.2fs", r.ServerCPUSeconds)
	}
	return tw.Flush()
}

// writeLoss writes the loss section of the table.
func writeLoss(row func(k, format string, a ...any), l *LossReport) {
	verdict := "no position lost"
	if !l.NoPositionLost {
		verdict = fmt.Sprintf("%d LOST (%.4f%%) by %d of %d managers", l.Lost, percent(l.Lost, l.Expected), l.ManagersWithLoss, l.Managers)
		if l.NeverConnected > 0 {
			verdict += fmt.Sprintf("; %d managers never connected", l.NeverConnected)
		}
	}
	row("loss", "%s: %d expected, %d delivered (grace %.1fs after the last send)", verdict, l.Expected, l.Delivered, l.GraceSeconds)
	if l.Lost > 0 {
		row("  where", "send failed %d, refused %d, skipped in stream %d, across reconnects %d, tail (not arrived) %d",
			l.SendFailed, l.Rejected, l.Skipped, l.ReconnectGap, l.Tail)
	}
	if l.Duplicates > 0 || l.Reordered > 0 {
		row("  duplicates / reordered", "%d / %d", l.Duplicates, l.Reordered)
	}
	if s := l.Server; s != nil {
		row("  server counters", "accepted %d, rejected %d, published %d, publish errors %d, conflated %d, dropped %d, hints slow %d shutdown %d lifetime %d, resumes reset %d",
			s.Accepted, s.Rejected, s.Published, s.PublishErrors, s.Conflated, s.Dropped, s.SlowHints, s.ShutdownHints, s.LifetimeHints, s.ResumesReset)
		row("  server streams", "%d positions queued to managers, %d written in %d writes", s.Queued, s.Written, s.Writes)
	}
	for _, rep := range l.Replicas {
		if rep.Error != "" {
			row("  metrics error", "%s", rep.Error)
		}
	}
	for _, c := range l.Causes {
		row("  cause", "%s", c)
	}
	for i, m := range l.Worst {
		if i == 5 {
			row("  ...", "%d more managers with loss (JSON: loss.worst)", len(l.Worst)-5)
			break
		}
		row("  manager "+m.Manager, "lost %d of %d (skipped %d, refused %d, reconnects %d gap %d, tail %d, send failed %d) over %d workers",
			m.Lost, m.Expected, m.Skipped, m.Rejected, m.Reconnects, m.ReconnectGap, m.Tail, m.SendFailed, m.Workers)
	}
}

func percent(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// intervalsText is "550ms:95 30s:80", shortest interval first.
func intervalsText(m map[string]int64) string {
	b, _ := json.Marshal(m)
	var is Intervals
	if is.UnmarshalJSON(b) != nil {
		return fmt.Sprint(m)
	}
	return is.String()
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }
