package kafkabroadcast_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  kafkabroadcast.Config
		want string
	}{
		{"no brokers", kafkabroadcast.Config{}, "Brokers"},
		{"bad topic", kafkabroadcast.Config{Brokers: []string{"x:1"}, Topic: "a/b"}, "Topic"},
		{"same topics", kafkabroadcast.Config{Brokers: []string{"x:1"}, Topic: "t", LastTopic: "t"}, "LastTopic"},
		{"state topic is the topic", kafkabroadcast.Config{Brokers: []string{"x:1"}, Topic: "t", StateTopic: "t"}, "Topic and StateTopic"},
		{"state topic is the last topic", kafkabroadcast.Config{Brokers: []string{"x:1"}, LastTopic: "t", StateTopic: "t"}, "LastTopic and StateTopic"},
		{"bad state topic", kafkabroadcast.Config{Brokers: []string{"x:1"}, StateTopic: "a b"}, "StateTopic"},
		{"negative partitions", kafkabroadcast.Config{Brokers: []string{"x:1"}, Partitions: -1}, "Partitions"},
		{"old version", kafkabroadcast.Config{Brokers: []string{"x:1"}, KafkaVersion: "0.10.2.0"}, "KafkaVersion"},
		{"negative linger", kafkabroadcast.Config{Brokers: []string{"x:1"}, Linger: -time.Second}, "Linger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kafkabroadcast.New(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// New keeps trying an unreachable broker until its ctx ends.
func TestNewGivesUpWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := kafkabroadcast.New(ctx, kafkabroadcast.Config{Brokers: []string{"127.0.0.1:1"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New with no broker = %v, want the context's deadline", err)
	}
}

func TestPublishQueueBoundsAndClose(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 4
	b := newReplica(t, cfg, nil)
	ctx := context.Background()
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	five := make([]tracking.Message, 5)
	for i := range five {
		five[i] = broadcasttest.Msg("team_q", "w1", i+1)
	}
	if err := b.Publish(ctx, five...); !errors.Is(err, tracking.ErrOverloaded) {
		t.Fatalf("Publish of more than the queue holds = %v, want ErrOverloaded", err)
	}
	broadcasttest.MustPublish(t, b, five[:4]...)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, five[0]); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, "team_q", func([]tracking.Message) {}); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Last(ctx, "team_q"); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Last after Close = %v, want ErrClosed", err)
	}
	if err := b.Ready(ctx); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("Ready after Close = %v, want ErrClosed", err)
	}
}

func TestSubscribeRejectsBadTeam(t *testing.T) {
	b := newReplica(t, testConfig(t), nil)
	if _, err := b.Subscribe(context.Background(), "bad team", func([]tracking.Message) {}); tracking.ErrorCode(err) != tracking.CodeInvalidField {
		t.Fatalf("Subscribe to a bad team name = %v, want invalid_field", err)
	}
}
