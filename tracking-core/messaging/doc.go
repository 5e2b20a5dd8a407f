// Package messaging is the durable side of dispatch messages (issue 14): a
// manager sends a message (a JSON object) to some workers of a team, or all
// of them; a worker online gets it on its live connection (tracking.Mailbox),
// one offline gets its pending messages, oldest first, when it connects
// again, until the message's ttl runs out. This package holds the types, their
// validation and the Store contract (store.go) that keeps every message with
// the delivery state of each recipient; it neither sends nor publishes.
//
// The state of one recipient only moves forward:
//
//		sent ──> delivered ──> acked ──> read
//		  │          │
//		  └──────────┴──> expired
//
//	  - sent: stored (Store.Create); every recipient starts here.
//	  - delivered: written to the worker's connection.
//	  - acked: the worker answered {"type":"ack"}; read: it said it was read.
//	  - expired: the message's ExpiresAt passed before the worker acked
//	    (Store.Expire), so it is no longer pending.
//
// A mark may skip states (an ack without a recorded delivery is a
// delivery too: the skipped times are set to the ack's). A recipient that is
// acked, read or expired is never pending again. Past ExpiresAt a recipient
// can no longer become delivered or acked (a late ack changes nothing), but
// an acked one can still become read. Until Expire runs, a recipient past
// ExpiresAt is still sent or delivered in Get, though no longer pending. Every change a Mark or Expire reports
// is one event for the manager streams: callers publish exactly the changes
// reported, so concurrent replicas never publish one twice.
//
// Backends: sqlitemessaging (the embedded default, in the history's SQLite
// file) and pgmessaging (PostgreSQL); both run the conformance suite of
// messagingtest. messagingdb.Open picks one by the DSN's scheme, as
// alertingdb does.
package messaging
