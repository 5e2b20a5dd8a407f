// Package alerting is the durable side of alerts (issue 13): the Store
// contract (store.go) that keeps, in the same database as the position
// history, the team-scoped definitions that produce alerts (fences, rules)
// with a change feed for the caches of every replica, the alert events
// themselves, the webhook endpoints and Web Push subscriptions of each team
// (both targets of one outbox), the VAPID keys of Web Push, and the outbox
// through which events are delivered to those targets at least once
// (webhook.Dispatcher; webpush.Sender for the push subscriptions).
//
// Backends: sqlitealerting (the embedded default of the local run) and
// pgalerting (PostgreSQL); each runs the conformance suite of alertingtest.
// alertingdb.Open picks one by the DSN's scheme, as historydb does.
//
// Evaluating fences and rules, and producing events, is not done here: the
// engine appends what it produces (Store.AppendEvents) and the outbox takes
// it from there.
package alerting
