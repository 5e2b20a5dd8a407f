package simulator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Status says where the live status of a run goes. The zero value logs a
// status line through the Logger every 10 s.
type Status struct {
	// Terminal: Out is a terminal, so the status is one line redrawn in place
	// (with \r) every Interval. Otherwise it is logged through the run's Logger.
	Terminal bool
	// Out receives the terminal status line. Default: nothing is drawn and the
	// status is logged.
	Out io.Writer
	// Interval between two updates. Default: 1s on a terminal, 10s in logs;
	// negative: no status at all.
	Interval time.Duration
}

func (s Status) withDefaults() Status {
	if s.Out == nil {
		s.Terminal = false
	}
	if s.Interval == 0 {
		s.Interval = 10 * time.Second
		if s.Terminal {
			s.Interval = time.Second
		}
	}
	return s
}

// statusLine renders the counters, with rates over the time since prev.
type statusLine struct {
	now, prev Stats
	dt        time.Duration
	extra     func() []slog.Attr // load mode: phase and latency
}

func (l statusLine) rate(now, prev int64) float64 {
	if l.dt <= 0 {
		return 0
	}
	return float64(now-prev) / l.dt.Seconds()
}

func (l statusLine) attrs() []slog.Attr {
	n, p := l.now, l.prev
	a := []slog.Attr{
		slog.String("workers", fmt.Sprintf("%d/%d", n.WorkersConnected, n.Workers)),
		slog.Int64("positions_per_s", int64(l.rate(n.Sent, p.Sent)+0.5)),
		slog.Int64("sent", n.Sent),
		slog.Int64("errors", n.Errors),
		slog.Int64("reconnects", n.Reconnects),
	}
	// The workers on each reporting interval: sampling advice at work.
	if len(n.Intervals) > 0 {
		a = append(a, slog.String("intervals", n.Intervals.String()))
	}
	if n.Advice > 0 {
		a = append(a, slog.Int64("advice", n.Advice))
	}
	if n.Messages > 0 || n.Acks > 0 {
		a = append(a, slog.Int64("messages", n.Messages), slog.Int64("acks", n.Acks))
		if n.Reads > 0 {
			a = append(a, slog.Int64("reads", n.Reads))
		}
	}
	if n.Managers > 0 {
		a = append(a,
			slog.String("managers", fmt.Sprintf("%d/%d", n.ManagersConnected, n.Managers)),
			slog.Int64("received_per_s", int64(l.rate(n.Received, p.Received)+0.5)),
			slog.Int64("manager_errors", n.ManagerErrors),
			slog.Int64("manager_reconnects", n.ManagerReconnects),
		)
	}
	if l.extra != nil {
		a = append(a, l.extra()...)
	}
	if n.LastError != "" && (n.Errors > p.Errors || n.ManagerErrors > p.ManagerErrors) {
		a = append(a, slog.String("last_error", n.LastError))
	}
	return a
}

var labels = strings.NewReplacer("_per_s", "/s", "_", " ")

func (l statusLine) String() string {
	var b strings.Builder
	for i, a := range l.attrs() {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(labels.Replace(a.Key))
		b.WriteByte(' ')
		b.WriteString(a.Value.String())
	}
	return b.String()
}

// runStatus reports c until ctx is done, then draws (or logs) a last line.
func runStatus(ctx context.Context, st Status, log *slog.Logger, c *counters, extra func() []slog.Attr) {
	if st.Interval < 0 {
		return
	}
	t := time.NewTicker(st.Interval)
	defer t.Stop()
	prev, prevAt := c.snapshot(), time.Now()
	emit := func(final bool) {
		now, at := c.snapshot(), time.Now()
		line := statusLine{now: now, prev: prev, dt: at.Sub(prevAt), extra: extra}
		prev, prevAt = now, at
		if st.Terminal {
			// \r and erase-line redraw in place; the last line is kept.
			end := ""
			if final {
				end = "\n"
			}
			fmt.Fprintf(st.Out, "\r\x1b[K%s%s", line, end)
			return
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "status", line.attrs()...)
	}
	for {
		select {
		case <-ctx.Done():
			emit(true)
			return
		case <-t.C:
			emit(false)
		}
	}
}
