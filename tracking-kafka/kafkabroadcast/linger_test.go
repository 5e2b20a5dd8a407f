package kafkabroadcast_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/testsupport"
)

const (
	partitionsGauge = "tracking_kafka_partitions_consumed"
	consumedTotal   = "tracking_kafka_consumed_records_total"
)

// The reader of a partition goes on reading after the partition's last
// subscription ended, and a team subscribed again within the linger is
// served by it: positions published while nobody watched, which it has read
// already, are not delivered; those published after Subscribe are.
func TestReaderLingersForAReturningSubscription(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReaderLinger = time.Hour // no expiry during the test
	pub := newReplica(t, cfg, nil)
	reg := prometheus.NewRegistry()
	b := newReplica(t, cfg, reg)
	const team = "team_linger"
	ctx := context.Background()

	c1, sub1 := broadcasttest.Subscribe(t, ctx, b, team)
	broadcasttest.MustPublish(t, pub, broadcasttest.Msg(team, "w1", 1))
	if !c1.WaitCount(10*time.Second, 1) {
		t.Fatal("no delivery to the first subscription")
	}
	sub1.Unsubscribe()

	// Nobody watches: the reader still reads (and drops) the partition.
	read := metricValue(t, reg, consumedTotal)
	broadcasttest.MustPublish(t, pub, broadcasttest.Msg(team, "w1", 2))
	waitCounter(t, reg, consumedTotal, read+1)
	if n := metricValue(t, reg, partitionsGauge); n != 1 {
		t.Fatalf("%s = %v after the last subscription ended, want 1 (lingering)", partitionsGauge, n)
	}
	// What the reader delivers next is the head: the snapshot covers the
	// rest (see since.go, delivered).
	c2, sub2 := broadcasttest.Subscribe(t, ctx, b, team)
	defer sub2.Unsubscribe()
	broadcasttest.MustPublish(t, pub, broadcasttest.Msg(team, "w1", 3))
	if !c2.WaitCount(10*time.Second, 1) {
		t.Fatal("no delivery to the subscription that came back")
	}
	if got := broadcasttest.Seqs(c2.Messages()); fmt.Sprint(got) != "[3]" {
		t.Fatalf("the subscription that came back got %v, want [3]: position 2 was read before it began", got)
	}
	if n := len(c1.Messages()); n != 1 {
		t.Fatalf("the ended subscription got %d positions, want 1", n)
	}
	// The last known positions of the team, watched again, include the one
	// published while nobody watched.
	wantLast(t, b, team, map[string]int{"w1": 3})
}

// A lingering reader stops when its linger passes with no subscription,
// serves a subscription that comes back before, and never outlives Close
// (goleak, TestMain).
func TestReaderStopsAfterItsLinger(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReaderLinger = 300 * time.Millisecond
	pub := newReplica(t, cfg, nil)
	reg := prometheus.NewRegistry()
	b := newReplica(t, cfg, reg)
	const team = "team_linger_stop"
	ctx := context.Background()

	_, sub := broadcasttest.Subscribe(t, ctx, b, team)
	sub.Unsubscribe()
	testsupport.Eventually(t, 10*time.Second, "the partition reader stopped after its linger", func() bool {
		return metricValue(t, reg, partitionsGauge) == 0
	})

	// A new reader starts at the partition's end, as before the linger.
	c, sub := broadcasttest.Subscribe(t, ctx, b, team)
	broadcasttest.MustPublish(t, pub, broadcasttest.Msg(team, "w1", 1))
	if !c.WaitCount(10*time.Second, 1) {
		t.Fatal("no delivery from a reader started after the previous one stopped")
	}
	sub.Unsubscribe()

	// Close while a reader lingers stops it.
	_, other := broadcasttest.Subscribe(t, ctx, b, "team_linger_close")
	other.Unsubscribe()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(t, reg, partitionsGauge); n != 0 {
		t.Fatalf("%s = %v after Close, want 0", partitionsGauge, n)
	}
	if _, err := b.Subscribe(ctx, team, func([]tracking.Message) {}); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
}
