package kafkabroadcast_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/servicetest"
)

// BenchmarkPublishToSubscriber measures end-to-end throughput: b.N positions
// of 50 teams of 20 workers published on one replica, until all are delivered
// to the subscriptions of another.
func BenchmarkPublishToSubscriber(b *testing.B) {
	cfg := testConfig(b)
	pub := newReplica(b, cfg, nil)
	sub := newReplica(b, cfg, nil)
	const teams, workers = 50, 20
	var delivered atomic.Int64
	for i := 0; i < teams; i++ {
		s, err := sub.Subscribe(context.Background(), fmt.Sprintf("team_%02d", i), func(msgs []tracking.Message) {
			delivered.Add(int64(len(msgs)))
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Unsubscribe)
	}
	msgs := make([]tracking.Message, teams*workers)
	for i := range msgs {
		msgs[i] = broadcasttest.Msg(fmt.Sprintf("team_%02d", i%teams), fmt.Sprintf("w%02d", i/teams), i)
	}
	b.SetBytes(int64(len(msgs[0].JSON)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		broadcasttest.MustPublish(b, pub, msgs[i%len(msgs)])
	}
	deadline := time.Now().Add(time.Minute)
	for delivered.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", delivered.Load(), b.N)
		}
		time.Sleep(time.Millisecond) // polling the delivery count
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "positions/s")
}

// BenchmarkResume: see servicetest.BenchResume (5 s of a 100-position/s team
// caught up after a cut), on the real Kafka broker.
func BenchmarkResume(b *testing.B) {
	cfg := testConfig(b)
	servicetest.BenchResume(b, func() tracking.Broadcaster { return newReplica(b, cfg, nil) })
}
