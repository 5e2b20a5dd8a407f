// Package broadcasttest is the conformance suite of the tracking.Broadcaster
// contract. Every backend runs it through a thin wrapper:
//
//	broadcasttest.Run(t, broadcasttest.Features{...}, func(t *testing.T) func() tracking.Broadcaster {
//		prefix := uniquePrefix(t)
//		return func() tracking.Broadcaster { return newBackendInstance(prefix) }
//	})
//
// Optional contracts get cases of their own: tracking.StateStore
// (WorkerState) and tracking.Mailbox (Mailbox*, skipped for a Broadcaster
// that is not one). The broker restart test checks a Mailbox's Listen too.
//
// Each call of the setup function gives a namespace of the backend that no other
// test shares; each call of the returned constructor is one more replica in it.
package broadcasttest
