package history

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// RetentionConfig tunes a Retention.
type RetentionConfig struct {
	// Keep is how long records are kept, by fix time. Default 30 days.
	Keep time.Duration
	// Every is the interval between two prunes. Default 1h.
	Every time.Duration
	// Logger receives a line per prune that fails. Default: discard.
	Logger *slog.Logger
}

// Retention prunes a Store at start and then every interval: time
// partitions entirely older than Keep are dropped.
type Retention struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// StartRetention starts pruning s.
func StartRetention(s Store, cfg RetentionConfig) *Retention {
	cfg.Keep = cmp.Or(max(cfg.Keep, 0), 30*24*time.Hour)
	cfg.Every = cmp.Or(max(cfg.Every, 0), time.Hour)
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	r := &Retention{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(cfg.Every)
		defer t.Stop()
		for {
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Minute)
			before := time.Now().Add(-cfg.Keep)
			if err := s.Prune(pctx, before); err != nil && ctx.Err() == nil {
				log.Warn("history: prune failed; retrying at the next interval", "err", err, "before", before, "every", cfg.Every.String())
			}
			pcancel()
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

// Close stops the loop and waits for it. It is idempotent.
func (r *Retention) Close() {
	r.cancel()
	<-r.done
}
