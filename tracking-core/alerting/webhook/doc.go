// Package webhook delivers alert events to the webhook endpoints of each
// team: the Dispatcher leases due deliveries from the alerting.Store's
// outbox and POSTs each event's JSON, signed (sign.go), retrying with
// exponential backoff and jitter until MaxAttempts, after which the
// delivery is a dead letter that can be read and replayed.
//
// Delivery is at least once: a delivery is removed from the outbox only
// after a 2xx answer, so an answer lost on the way (a timeout, a crash
// before the outbox is updated) means the event is sent again. Every POST
// carries the event's id (X-Teamtrack-Event-Id, and "id" in the body) so
// that receivers de-duplicate. There is no ordering between deliveries:
// receivers order by the event's time.
//
// Receivers verify a delivery as follows (Verify does it in Go):
//
//  1. Read X-Teamtrack-Timestamp (Unix seconds) and refuse the request if it
//     is more than 5 minutes from the receiver's clock (the replay window:
//     a captured request cannot be replayed later).
//  2. Compute HMAC-SHA256, keyed with the endpoint's secret, of the
//     timestamp, a ".", and the raw request body, byte for byte as received.
//  3. Compare its lowercase hex, in constant time, with the part of
//     X-Teamtrack-Signature after "sha256=".
//  4. De-duplicate on X-Teamtrack-Event-Id (retries send the same id; a
//     replayed dead letter too, with a new timestamp and signature).
//
// Web Push subscriptions (alerting.PushSubscription) are targets of the
// same outbox: the Dispatcher hands their deliveries to Config.Push
// (webpush.Sender), which encrypts the event to the subscription and signs
// the request with VAPID, and reads the push service's answer its own way
// (deliverPush: 404 and 410 delete the subscription, other 4xx make a dead
// letter at once). Retries, backoff, leases and dead letters are the
// webhooks'; the metrics are push_* (by team: a team may have many).
//
// The Dispatcher never blocks ingest: it runs on its own goroutines, and
// each endpoint has at most PerEndpoint requests in flight, so that a slow
// receiver holds up its own deliveries only.
package webhook
