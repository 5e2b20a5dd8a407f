package simulator

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// On a terminal the status is one line redrawn in place; the last one stays.
func TestStatusLineOnTerminal(t *testing.T) {
	var c counters
	c.workers.Store(10)
	c.workersConnected.Store(9)
	c.errors.Store(2)
	c.fail(errStreamClosed)
	for range 6 {
		c.moveInterval(0, 550*time.Millisecond)
	}
	for range 4 {
		c.moveInterval(0, 550*time.Millisecond)
		c.moveInterval(550*time.Millisecond, 30*time.Second)
	}
	c.messages.Store(5)
	c.acks.Store(5)
	var out testsupport.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		runStatus(ctx, Status{Terminal: true, Out: &out, Interval: time.Millisecond}, nil, &c, nil)
		close(done)
	}()
	testsupport.Eventually(t, 5*time.Second, "a redraw", func() bool { return strings.Count(out.String(), "\r") >= 2 })
	cancel()
	<-done
	s := out.String()
	if !strings.HasPrefix(s, "\r\x1b[K") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Fatalf("status output %q", s)
	}
	last := s[strings.LastIndex(s, "\r\x1b[K")+4:]
	for _, want := range []string{"workers 9/10", "positions/s 0", "errors 2", "reconnects 0", "intervals 550ms:6 30s:4", "messages 5", "acks 5"} {
		if !strings.Contains(last, want) {
			t.Errorf("status line %q lacks %q", last, want)
		}
	}
}

// Elsewhere (stdout is not a terminal) the status is a structured log line.
func TestStatusLogged(t *testing.T) {
	var c counters
	c.workers.Store(3)
	c.managers.Store(1)
	var out testsupport.SyncBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		runStatus(ctx, Status{Interval: time.Millisecond}, log, &c, func() []slog.Attr { return []slog.Attr{slog.String("phase", "measuring")} })
		close(done)
	}()
	testsupport.Eventually(t, 5*time.Second, "a status log line", func() bool { return strings.Contains(out.String(), "msg=status") })
	cancel()
	<-done
	line := strings.SplitN(out.String(), "\n", 2)[0]
	for _, want := range []string{"workers=0/3", "positions_per_s=0", "managers=0/1", "received_per_s=0", "phase=measuring"} {
		if !strings.Contains(line, want) {
			t.Errorf("status log %q lacks %q", line, want)
		}
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("a carriage return in the logs")
	}
}
