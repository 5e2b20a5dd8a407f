// Package dispatch sends a manager's messages to workers and follows their
// delivery (issue 14): the live side of package messaging's store.
//
// A Send stores the message with every recipient "sent" (messaging.Store),
// publishes one "sent" delivery event per recipient on the team's stream,
// and posts the message to each recipient's mailbox address
// (tracking.Mailbox): the broker hands it to the replica that holds the
// worker's connection and to no other. That replica's Inbox writes it to
// the connection, marks it delivered and publishes the change; the worker's
// {"type":"ack"} marks it acked. A worker that is offline gets its pending
// messages, oldest first, when it connects again: an Inbox listens on the
// worker's address first and reads the store second, so a message sent
// meanwhile is caught by one or the other (and sent once: the Inbox drops
// an id it has sent). Messages are delivered at least once: one delivered
// but never acked is sent again on the next connection, until its ttl.
//
// Every change of a recipient's state is a tracking.KindDelivery event on
// the team's stream (wire.Delivery), published by the one replica whose
// store call reported the change; a recipient still sent or delivered when
// the message's ttl runs out is marked expired by whichever replica's
// expiry round gets it first.
package dispatch
