package service

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/alerting/alertingdb"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/alerting/webpush"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/httpapi"
)

// WebhookSettings configure webhook delivery (WEBHOOK_*). The alerting
// store itself opens on HISTORY_DSN: alerts live in the history's database.
type WebhookSettings struct {
	Timeout     time.Duration // WEBHOOK_TIMEOUT
	MaxAttempts int           // WEBHOOK_MAX_ATTEMPTS
	BackoffBase time.Duration // WEBHOOK_BACKOFF_BASE
	BackoffMax  time.Duration // WEBHOOK_BACKOFF_MAX
	PerEndpoint int           // WEBHOOK_CONCURRENCY
	AllowHTTP   bool          // WEBHOOK_ALLOW_HTTP
}

func readWebhooks(e *config.Env) WebhookSettings {
	d := webhook.Config{}.WithDefaults()
	s := WebhookSettings{
		Timeout:     e.Duration("WEBHOOK_TIMEOUT", d.Timeout),
		MaxAttempts: e.Int("WEBHOOK_MAX_ATTEMPTS", d.MaxAttempts),
		BackoffBase: e.Duration("WEBHOOK_BACKOFF_BASE", d.BackoffBase),
		BackoffMax:  e.Duration("WEBHOOK_BACKOFF_MAX", d.BackoffMax),
		PerEndpoint: e.Int("WEBHOOK_CONCURRENCY", d.PerEndpoint),
		AllowHTTP:   config.Func(e, "WEBHOOK_ALLOW_HTTP", false, "false", "true or false", strconv.ParseBool),
	}
	if s.Timeout <= 0 {
		e.Fail("WEBHOOK_TIMEOUT", "a positive duration such as 10s")
	}
	if s.MaxAttempts <= 0 {
		e.Fail("WEBHOOK_MAX_ATTEMPTS", "a positive number of attempts")
	}
	if s.BackoffBase <= 0 {
		e.Fail("WEBHOOK_BACKOFF_BASE", "a positive duration such as 1s")
	}
	if s.BackoffMax < s.BackoffBase {
		e.Fail("WEBHOOK_BACKOFF_MAX", "a duration at least WEBHOOK_BACKOFF_BASE")
	}
	if s.PerEndpoint <= 0 {
		e.Fail("WEBHOOK_CONCURRENCY", "a positive number of requests")
	}
	return s
}

// openAlerts opens the alerting store on dsn (HISTORY_DSN), starts the
// Dispatcher of webhooks and Web Push (metrics webhook_* and push_* in reg)
// and the retention of events and tombstones (keep, HISTORY_RETENTION,
// checked at start and hourly). The returned func closes them in order:
// retention, Dispatcher (its requests in flight finish), store; the caller
// calls it after the API has stopped.
func openAlerts(ctx context.Context, dsn string, s WebhookSettings, ps PushSettings, keep time.Duration, log *slog.Logger, reg prometheus.Registerer) (func(), *httpapi.Alerts, error) {
	log = log.With("component", "alerting")
	store, err := alertingdb.Open(ctx, dsn, log)
	if err != nil {
		return nil, nil, fmt.Errorf("HISTORY_DSN (alerting): %w", err)
	}
	// The keys are loaded on first use (a push, GET .../push/key), so that
	// a database down at start delays them without failing the replica.
	keys, source := webpush.StoredKeys(store), "generated once, kept in the HISTORY_DSN database"
	if !ps.Keys.IsZero() {
		keys, source = webpush.FixedKeys(ps.Keys), "PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY"
	}
	sender, err := webpush.New(webpush.Config{Keys: keys, Subject: ps.Subject, TTL: ps.TTL, Logger: log})
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	d, err := webhook.New(webhook.Config{Store: store, Timeout: s.Timeout, MaxAttempts: s.MaxAttempts,
		BackoffBase: s.BackoffBase, BackoffMax: s.BackoffMax, PerEndpoint: s.PerEndpoint, AllowHTTP: s.AllowHTTP,
		Push: sender, Logger: log, Registerer: reg})
	if err != nil {
		sender.Close()
		_ = store.Close()
		return nil, nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			pctx, cancel := context.WithTimeout(rctx, time.Minute)
			if err := store.Prune(pctx, time.Now().Add(-keep)); err != nil && rctx.Err() == nil {
				log.Warn("alerting: retention", "err", err)
			}
			cancel()
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	log.Info("alerts, webhooks and Web Push on", "store", redactDSN(dsn), "webhook_timeout", s.Timeout.String(),
		"max_attempts", s.MaxAttempts, "allow_http", s.AllowHTTP, "vapid_keys", source, "vapid_subject", ps.Subject,
		"push_ttl", ps.TTL.String())
	return func() {
		stop()
		wg.Wait()
		_ = d.Close()
		sender.Close()
		_ = store.Close()
		log.Info("alerting closed")
	}, &httpapi.Alerts{Store: store, AllowHTTP: s.AllowHTTP, Notify: d.Notify, PushKey: sender.PublicKey}, nil
}
