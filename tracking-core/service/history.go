package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historydb"
)

// openHistory opens the store HISTORY_DSN names, its Writer (metrics
// history_* in reg) and the retention loop. A store that cannot be reached
// does not stop the replica: live positions flow without it, the Writer
// keeps a bounded backlog and retries, and history_store_up and the logs
// say so; /readyz does not depend on it.
func openHistory(ctx context.Context, s HistorySettings, log *slog.Logger, reg prometheus.Registerer) (func(), *history.Writer, error) {
	log = log.With("component", "history")
	store, err := historydb.Open(ctx, s.DSN, historydb.WithLogger(log))
	if err != nil {
		return nil, nil, fmt.Errorf("HISTORY_DSN: %w", err)
	}
	wc := s.Writer
	wc.Logger, wc.Registerer = log, reg
	w := history.NewWriter(store, wc)
	ret := history.StartRetention(store, history.RetentionConfig{Keep: s.Retention, Logger: log})
	log.Info("durable history on", "store", redactDSN(s.DSN), "retention", s.Retention.String(),
		"backlog", wc.Backlog, "batch", wc.Batch)
	return func() {
		_ = w.Close()
		ret.Close()
		_ = store.Close()
		st := w.Stats()
		log.Info("history closed", "added", st.Added, "written", st.Written, "dropped", st.Dropped)
	}, w, nil
}

// redactDSN leaves the password out of a DSN for the logs.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return dsn
}
