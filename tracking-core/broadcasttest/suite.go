package broadcasttest

import (
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Setup returns a constructor of replicas sharing one fresh backend namespace.
// Replicas it makes are closed by the suite.
type Setup func(t *testing.T) func() tracking.Broadcaster

// Features says what the backend under test can do and how to drive it.
type Features struct {
	// StaleAfter is the staleness window of the replicas Setup makes (their
	// default, 10 minutes, when zero). Last must leave out positions received
	// longer ago than that.
	StaleAfter time.Duration
	// Overload makes replicas like Setup's whose send queue holds at most
	// QueueSize positions. Nil means the backend publishes synchronously and
	// never answers ErrOverloaded (memory): the overload test is skipped.
	Overload  Setup
	QueueSize int
	// RestartBroker stops the broker and starts it again on the same address.
	// Nil skips the restart test.
	RestartBroker func(t *testing.T)
	// Timeout bounds every wait for a delivery. Default 10s.
	Timeout time.Duration
	// Windowed makes replicas like Setup's whose resume window is
	// ResumeWindow, short enough (a second or two) to wait out in a test.
	// Nil skips the window test.
	Windowed     Setup
	ResumeWindow time.Duration
}

// Run runs every conformance test against the backend. The tests run in
// parallel, each in a namespace of its own, except the broker restart, which
// runs alone at the end. With -short the stress test is scaled down.
func Run(t *testing.T, f Features, setup Setup) {
	if f.Timeout <= 0 {
		f.Timeout = 10 * time.Second
	}
	if f.StaleAfter <= 0 {
		f.StaleAfter = 10 * time.Minute
	}
	if f.Overload != nil && f.QueueSize <= 0 {
		t.Fatal("broadcasttest: Features.Overload needs QueueSize")
	}
	if f.Windowed != nil && f.ResumeWindow <= 0 {
		t.Fatal("broadcasttest: Features.Windowed needs ResumeWindow")
	}
	s := &suite{f: f, setup: setup}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"SameReplicaDelivery", s.sameReplica},
		{"DeliveryBetweenReplicas", s.betweenReplicas},
		{"TeamIsolation", s.teamIsolation},
		{"PerWorkerOrder", s.perWorkerOrder},
		{"ConcurrentPublishers", s.concurrentPublishers},
		{"OneSubscriptionPerTeam", s.oneSubscriptionPerTeam},
		{"ContextCancelEndsSubscription", s.ctxCancel},
		{"UnsubscribeIdempotent", s.unsubscribeTwice},
		{"CloseTwice", s.closeTwice},
		{"SliceReuse", s.sliceReuse},
		{"LastKnownSnapshot", s.lastKnown},
		{"LastStaleByReceiptTime", s.lastStaleByReceipt},
		{"LastNewestFixWins", s.lastNewestFix},
		{"EventsDelivered", s.eventsDelivered},
		{"LastStatuses", s.lastStatuses},
		{"WorkerState", s.workerState},
		{"MailboxDelivered", s.mailDelivered},
		{"MailboxAddressIsolation", s.mailAddressIsolation},
		{"MailboxOrder", s.mailOrder},
		{"MailboxTwoListens", s.mailTwoListens},
		{"MailboxContextEndsListen", s.mailListenCtx},
		{"MailboxInvalid", s.mailInvalid},
		{"MailboxAfterClose", s.mailAfterClose},
		{"ResumeOffsets", s.resumeOffsets},
		{"ResumeGap", s.resumeGap},
		{"ResumeWindow", s.resumeWindow},
		{"ResumeWithoutGap", s.resumeWithoutGap},
		{"Overloaded", s.overloaded},
		{"Stress", s.stress},
	}
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t)
			})
		}
	})
	if f.RestartBroker != nil {
		t.Run("ResumesAfterBrokerRestart", s.restart)
	}
}

type suite struct {
	f     Features
	setup Setup
}

// replicas makes n replicas sharing one namespace, closed at the end of the test.
func (s *suite) replicas(t *testing.T, n int) []tracking.Broadcaster {
	t.Helper()
	return Replicas(t, s.setup, n)
}

// Replicas makes n replicas of setup sharing one namespace, closed at the end
// of the test.
func Replicas(t *testing.T, setup Setup, n int) []tracking.Broadcaster {
	t.Helper()
	newReplica := namespace(t, setup)
	out := make([]tracking.Broadcaster, n)
	for i := range out {
		out[i] = newReplica()
	}
	return out
}

// namespace returns a constructor of replicas in one fresh namespace of
// setup, each closed at the end of the test.
func namespace(t *testing.T, setup Setup) func() tracking.Broadcaster {
	newReplica := setup(t)
	return func() tracking.Broadcaster {
		b := newReplica()
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
}
