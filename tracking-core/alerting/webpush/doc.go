// Package webpush sends alert events to managers' browsers by Web Push:
// Sender, the webhook.Dispatcher's Pusher for push subscriptions
// (alerting.PushSubscription), encrypts each event's JSON to the
// subscription's keys (RFC 8291, aes128gcm) and signs the request with the
// service's VAPID key (RFC 8292), through github.com/SherClockHolmes/webpush-go.
//
// A push subscription is a delivery target in the same durable outbox as
// the webhooks (the alerting.Store's alert_webhooks and alert_outbox): it
// gets the webhooks' leases across replicas, retries with backoff, dead
// letters and at-least-once delivery. What differs is the request (an
// encrypted push message instead of a signed POST) and what the answer
// means (see webhook.Dispatcher: 404 or 410 delete the subscription).
//
// The VAPID key pair: PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY when
// set; otherwise StoredKeys generates a pair on first use and keeps it in
// the alerting store (Store.VAPIDKeys), so that every replica sharing the
// database signs with the same key and a restart keeps it: a browser's
// subscription is bound to the key it was made with (applicationServerKey).
//
// pushtest is a push service for tests that checks what a real one would
// (the VAPID token) and decrypts what only the browser could.
package webpush
