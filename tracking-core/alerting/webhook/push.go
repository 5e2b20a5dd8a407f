package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// Pusher sends a delivery to a Web Push subscription (Target
// alerting.TargetWebPush): the event's JSON encrypted to the subscription's
// keys and signed with the service's VAPID key. webpush.Sender is one.
type Pusher interface {
	// Push makes one attempt within ctx. An error means no answer came
	// (retried), or, wrapping ErrUndeliverable, that no attempt can
	// succeed (a dead letter at once).
	Push(ctx context.Context, d alerting.Delivery) (PushAnswer, error)
}

// PushAnswer is a push service's answer to one push.
type PushAnswer struct {
	Status int
	// RetryAfter is the answer's Retry-After (seconds or a date), if any.
	RetryAfter time.Duration
	// Detail is the start of the answer's body (push services explain a
	// refusal there), kept with a dead letter.
	Detail string
}

// ErrUndeliverable marks a Pusher's error that no retry can fix: an event
// too large for a push message, keys the encryption refuses.
var ErrUndeliverable = errors.New("undeliverable")

// deliverPush pushes one delivery and records the result in the Store. The
// push service's answer decides (RFC 8030, RFC 8292):
//   - 2xx: delivered;
//   - 404, 410: the subscription expired or was unsubscribed: it is deleted,
//     with its deliveries;
//   - 408, 429, 5xx, or no answer: retried with the webhooks' backoff, a
//     Retry-After lengthening the wait, up to MaxAttempts;
//   - any other status (400, 401/403 a VAPID key the subscription was not
//     made with, 413 too large): a dead letter at once, the status and the
//     start of the body as its last error.
func (d *Dispatcher) deliverPush(del alerting.Delivery) {
	log := d.log.With("team", del.Team, "push_subscription", del.WebhookID, "event", del.Event.ID, "delivery", del.ID, "attempt", del.Attempts+1)
	if d.cfg.Push == nil {
		d.record(log, del, 0, "Web Push is not configured on this replica", del.Attempts+1 >= d.cfg.MaxAttempts)
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	ans, err := d.cfg.Push.Push(ctx, del)
	cancel()
	d.m.pushLatency.WithLabelValues(del.Team).Observe(time.Since(start).Seconds())
	last := del.Attempts+1 >= d.cfg.MaxAttempts
	switch s := ans.Status; {
	case err != nil && errors.Is(err, ErrUndeliverable):
		d.record(log, del, 0, err.Error(), true)
	case errors.Is(err, context.DeadlineExceeded):
		d.record(log, del, 0, fmt.Sprintf("no answer within %s", d.cfg.Timeout), last)
	case err != nil:
		d.record(log, del, 0, err.Error(), last)
	case s >= 200 && s < 300:
		d.count(del, resultDelivered)
		rctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
		defer cancel()
		if err := d.st.Delivered(rctx, del); err != nil {
			log.Debug("push: record a delivery", "err", err)
		}
		log.Debug("push: delivered", "status", s, "took", time.Since(start).String())
	case s == http.StatusNotFound || s == http.StatusGone:
		rctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
		defer cancel()
		err := d.st.DeletePushSubscription(rctx, del.Team, del.WebhookID)
		if err != nil && tracking.ErrorCode(err) != tracking.CodeNotFound {
			// Not deleted: retried, and deleted then.
			d.record(log, del, 0, fmt.Sprintf("HTTP %d (the subscription is gone), not deleted: %v", s, err), last)
			return
		}
		d.count(del, resultExpired)
		d.mu.Lock()
		delete(d.warned, del.WebhookID)
		d.mu.Unlock()
		log.Info("push: the push service says the subscription is gone; deleted", "status", s)
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		d.record(log, del, ans.RetryAfter, statusReason(ans), last)
	default:
		d.record(log, del, 0, statusReason(ans), true)
	}
}

func statusReason(a PushAnswer) string {
	if a.Detail == "" {
		return fmt.Sprintf("HTTP %d", a.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", a.Status, a.Detail)
}
