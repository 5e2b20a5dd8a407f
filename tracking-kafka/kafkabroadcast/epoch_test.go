package kafkabroadcast_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

// When the positions topic is deleted and created again, its epoch changes:
// an offset of the old topic gets ErrGap, even where the new topic has a
// record at the same Kafka offset, and offsets of the new topic resume.
func TestEpochChangesWhenTopicIsCreatedAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.Partitions = 3
	b := newReplica(t, cfg, nil)
	const team = "team_epoch"
	_, head0 := broadcasttest.Since(t, b, team, tracking.Offset{})
	broadcasttest.MustPublish(t, b, broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w1", 2))
	old := waitSince(t, b, team, head0, 2)

	admin := newAdmin(t, cfg.Brokers)
	if err := admin.DeleteTopic(cfg.Topic); err != nil {
		t.Fatalf("delete topic %s: %v", cfg.Topic, err)
	}
	testsupport.Eventually(t, 30*time.Second, "topic "+cfg.Topic+" created again", func() bool {
		err := admin.CreateTopic(cfg.Topic, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: 1}, false)
		return err == nil
	})

	var head tracking.Offset
	testsupport.Eventually(t, 30*time.Second, "Since answering on the new topic", func() bool {
		var err error
		_, head, err = b.Since(t.Context(), team, tracking.Offset{}, 0)
		return err == nil
	})
	if head.Epoch == old[0].Offset.Epoch {
		t.Fatalf("epoch %x unchanged after the topic was created again", head.Epoch)
	}
	// Records at the Kafka offsets the old positions had, written past the
	// broadcaster's producer, whose idempotent sequence belongs to the old topic.
	produce(t, cfg.Brokers, cfg.Topic, kafkabroadcast.PartitionOf(team, cfg.Partitions),
		broadcasttest.Msg(team, "w1", 3), broadcasttest.Msg(team, "w1", 4), broadcasttest.Msg(team, "w1", 5))
	for _, after := range []tracking.Offset{head0, old[0].Offset, old[1].Offset} {
		if msgs, _, err := b.Since(t.Context(), team, after, 100); !errors.Is(err, tracking.ErrGap) {
			t.Errorf("Since(%v of the old topic) = %v, %v; want ErrGap", after, broadcasttest.Seqs(msgs), err)
		}
	}
	msgs := waitSince(t, b, team, head, 3)
	if got := fmt.Sprint(broadcasttest.Seqs(msgs)); got != "[3 4 5]" {
		t.Fatalf("Since(head of the new topic) = %s, want [3 4 5]", got)
	}
	for _, m := range msgs {
		if m.Offset.Epoch != head.Epoch {
			t.Fatalf("position of the new topic has epoch %x, want %x", m.Offset.Epoch, head.Epoch)
		}
	}
}

// waitSince polls Since(after) until it returns n positions.
func waitSince(t *testing.T, b tracking.Broadcaster, team string, after tracking.Offset, n int) []tracking.Message {
	t.Helper()
	var msgs []tracking.Message
	testsupport.Eventually(t, 10*time.Second, fmt.Sprintf("%d positions after %v", n, after), func() bool {
		msgs, _ = broadcasttest.Since(t, b, team, after)
		return len(msgs) >= n
	})
	return msgs
}

func newAdmin(t *testing.T, addrs []string) sarama.ClusterAdmin {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Version = sarama.V3_0_0_0
	conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
	admin, err := sarama.NewClusterAdmin(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// produce writes msgs to partition p of topic, one record each, as the
// broadcaster would.
func produce(t *testing.T, addrs []string, topic string, p int32, msgs ...tracking.Message) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Version = sarama.V3_0_0_0
	conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	conf.Producer.Return.Successes = true
	conf.Producer.RequiredAcks = sarama.WaitForAll
	conf.Producer.Retry.Max = 20
	producer, err := sarama.NewSyncProducer(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for _, m := range msgs {
		rec := &sarama.ProducerMessage{
			Topic: topic, Partition: p,
			Key:   sarama.StringEncoder(m.Team),
			Value: sarama.ByteEncoder(wire.AppendFrame(nil, m)),
		}
		if _, _, err := producer.SendMessage(rec); err != nil {
			t.Fatalf("produce to %s/%d: %v", topic, p, err)
		}
	}
}
