package kafkabroadcast_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

// produceRaw writes n records to partition p of topic, batch records at a
// time, each batch compressed with the next of codecs. The value of record i
// is value(i).
func produceRaw(t *testing.T, addrs []string, topic string, p int32, n, batch int, codecs ...sarama.CompressionCodec) {
	t.Helper()
	producers := make([]sarama.SyncProducer, len(codecs))
	for i, codec := range codecs {
		conf := sarama.NewConfig()
		conf.Version = sarama.V3_0_0_0
		conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
		conf.Producer.Partitioner = sarama.NewManualPartitioner
		conf.Producer.RequiredAcks = sarama.WaitForAll
		conf.Producer.Return.Successes = true
		conf.Producer.Compression = codec
		sp, err := sarama.NewSyncProducer(addrs, conf)
		if err != nil {
			t.Fatalf("producer: %v", err)
		}
		defer sp.Close()
		producers[i] = sp
	}
	for i := 0; i < n; i += batch {
		var msgs []*sarama.ProducerMessage
		for j := i; j < min(i+batch, n); j++ {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: p,
				Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder(value(j))})
		}
		if err := producers[(i/batch)%len(producers)].SendMessages(msgs); err != nil {
			t.Fatalf("produce records %d..: %v", i, err)
		}
	}
}

func value(i int) string { return fmt.Sprintf("v%04d-%s", i, strings.Repeat("x", 60)) }

// wantRecords fails unless offsets and values are those of records from..to-1.
func wantRecords(t *testing.T, offsets []int64, values []string, from, to int64) {
	t.Helper()
	if len(offsets) != int(to-from) {
		t.Fatalf("read %d records, want %d (offsets %v)", len(offsets), to-from, offsets)
	}
	for i, o := range offsets {
		if o != from+int64(i) || values[i] != value(int(o)) {
			t.Fatalf("record %d: offset %d value %q, want offset %d value %q", i, o, values[i], from+int64(i), value(int(from)+i))
		}
	}
}

// readRange (the reads of Last and Since) across many fetches of plain and
// compressed batches, from an offset inside a batch; out of range at both
// ends of the log; and after the broker restarted under it.
func TestReadRange(t *testing.T) {
	cfg := testConfig(t)
	b := newReplica(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const p, n = 3, 200
	produceRaw(t, cfg.Brokers, cfg.Topic, p, n, 5,
		sarama.CompressionNone, sarama.CompressionSnappy, sarama.CompressionNone, sarama.CompressionZSTD, sarama.CompressionLZ4)

	// 256 bytes a fetch: a batch of five records is larger, so each fetch
	// brings one batch (Kafka sends the first whole whatever the limit).
	offsets, values, err := b.ReadRange(ctx, cfg.Topic, p, 7, 193, 256, 0)
	if err != nil {
		t.Fatalf("read [7, 193): %v", err)
	}
	wantRecords(t, offsets, values, 7, 193)
	// The default limit: one fetch.
	offsets, values, err = b.ReadRange(ctx, cfg.Topic, p, 0, n, 4<<20, 0)
	if err != nil {
		t.Fatalf("read [0, %d): %v", n, err)
	}
	wantRecords(t, offsets, values, 0, n)

	offsets, values, err = b.ReadRange(ctx, cfg.Topic, p, 12, 100, 256, 3)
	if err != nil {
		t.Fatalf("read stopped by visit: %v", err)
	}
	wantRecords(t, offsets, values, 12, 15)

	if _, _, err := b.ReadRange(ctx, cfg.Topic, p, n+5, n+10, 256, 0); !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		t.Fatalf("read beyond the end = %v, want ErrOffsetOutOfRange", err)
	}

	// Records before 50 deleted (as retention does): out of range, and a
	// read from the oldest offset starts at 50.
	deleteRecords(t, cfg.Brokers, cfg.Topic, p, 50)
	if _, _, err := b.ReadRange(ctx, cfg.Topic, p, 10, 60, 256, 0); !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		t.Fatalf("read of deleted records = %v, want ErrOffsetOutOfRange", err)
	}
	offsets, values, err = b.ReadRange(ctx, cfg.Topic, p, sarama.OffsetOldest, 60, 256, 0)
	if err != nil {
		t.Fatalf("read from the oldest offset: %v", err)
	}
	wantRecords(t, offsets, values, 50, 60)

	ended, stop := context.WithCancel(ctx)
	stop()
	if _, _, err := b.ReadRange(ended, cfg.Topic, p, 50, n, 256, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with an ended context = %v, want context.Canceled", err)
	}

	// The connection the reads used dies with the broker: the next read
	// reconnects, waiting for the partition's leader to be back.
	restart := restartBroker(t)
	if restart == nil {
		return
	}
	restart(t)
	offsets, values, err = b.ReadRange(ctx, cfg.Topic, p, 100, n, 256, 0)
	if err != nil {
		t.Fatalf("read after the broker restart: %v", err)
	}
	wantRecords(t, offsets, values, 100, n)
}

func deleteRecords(t *testing.T, addrs []string, topic string, p int32, before int64) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Version = sarama.V3_0_0_0
	conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
	admin, err := sarama.NewClusterAdmin(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.DeleteRecords(topic, map[int32]int64{p: before}); err != nil {
		t.Fatalf("delete records of %s/%d before %d: %v", topic, p, before, err)
	}
}
