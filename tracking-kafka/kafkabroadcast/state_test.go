package kafkabroadcast_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

func mustSave(t testing.TB, b *kafkabroadcast.Broadcaster, team, worker string, state []byte) {
	t.Helper()
	if err := b.SaveState(context.Background(), team, worker, state); err != nil {
		t.Fatalf("save state of %s/%s: %v", team, worker, err)
	}
}

// wantState fails unless LoadState of team/worker on b answers want (nil:
// no state).
func wantState(t testing.TB, b *kafkabroadcast.Broadcaster, team, worker string, want []byte) {
	t.Helper()
	if err := checkState(b, team, worker, want); err != nil {
		t.Fatal(err)
	}
}

func checkState(b *kafkabroadcast.Broadcaster, team, worker string, want []byte) error {
	got, err := b.LoadState(context.Background(), team, worker)
	if err != nil {
		return fmt.Errorf("load state of %s/%s: %w", team, worker, err)
	}
	if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
		return fmt.Errorf("state of %s/%s = %q (nil %v), want %q (nil %v)", team, worker, got, got == nil, want, want == nil)
	}
	return nil
}

// alterTopic sets configs of topic on the test broker.
func alterTopic(t testing.TB, addrs []string, topic string, configs map[string]string) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Version = sarama.V3_0_0_0
	conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
	admin, err := sarama.NewClusterAdmin(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	entries := make(map[string]sarama.IncrementalAlterConfigsEntry, len(configs))
	for k, v := range configs {
		entries[k] = sarama.IncrementalAlterConfigsEntry{Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v}
	}
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, topic, entries, false); err != nil {
		t.Fatalf("alter config of %s: %v", topic, err)
	}
}

// Worker states are records of StateTopic: the broker's compaction keeps
// each worker's latest (a tombstone removes it), a replica started after it
// loads them, and none of them is in LastTopic or shown by Last. Records
// "team/worker/state" that replicas before StateTopic wrote to LastTopic are
// skipped by Last (nor logged as undecodable), a worker called "state"
// included, and are not loaded as states.
func TestStatesSurviveCompactionNotInLast(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 50 * time.Millisecond
	a := newReplica(t, cfg, nil)
	const team = "team_state_compaction"
	base := time.Now()
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w2", 1),
		broadcasttest.Msg(team, "state", 1), broadcasttest.StatusMsg(team, "w1", base, 0, time.Millisecond, "online"))
	mustSave(t, a, team, "w1", []byte("s1"))
	mustSave(t, a, team, "w1", []byte("s2\x00\xff"))
	mustSave(t, a, team, "w2", []byte{}) // an empty state is one
	mustSave(t, a, team, "state", []byte("of the worker called state"))
	mustSave(t, a, team, "w3", []byte("gone"))
	mustSave(t, a, team, "w3", nil)
	// A state that decodes as a frame if taken for one (a version 3 frame of
	// one position of w1).
	mustSave(t, a, team, "w4", []byte{3, byte(tracking.KindPosition), 2, 'w', '1', 2, 2, 2, '{', '}'})
	// As an older replica kept w5's state: in LastTopic.
	produceKV(t, cfg.Brokers, cfg.LastTopic, kafkabroadcast.PartitionOf(team, 12), team+"/w5/state", []byte("\xffold"))
	wantLast(t, a, team, map[string]int{"w1": 1, "w2": 1, "state": 1})
	keys, _, err := a.LastRecords(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Count(k, "/") == 2 && strings.HasSuffix(k, "/state") && k != team+"/w5/state" {
			t.Fatalf("a state record in LastTopic: %q", keys)
		}
	}

	// Let the log cleaner compact StateTopic soon: segments rolled every
	// 100 ms (on the next write) and cleaned however little is dirty.
	alterTopic(t, cfg.Brokers, cfg.StateTopic, map[string]string{"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
	roll := 0
	testsupport.Eventually(t, 3*time.Minute, "compaction of w1's first state", func() bool {
		time.Sleep(200 * time.Millisecond)
		roll++ // a write rolls the segment it finds older than segment.ms
		mustSave(t, a, team, "roll", fmt.Appendf(nil, "%d", roll))
		keys, _, err := a.StateRecords(context.Background(), team)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, k := range keys {
			if k == team+"/w1" {
				n++
			}
		}
		return n == 1
	})
	keys, _, err = a.StateRecords(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after compaction (%d rolling writes): %q", roll, keys)

	reg := prometheus.NewRegistry()
	b := newReplica(t, cfg, reg)
	wantState(t, b, team, "w1", []byte("s2\x00\xff"))
	wantState(t, b, team, "w2", []byte{})
	wantState(t, b, team, "state", []byte("of the worker called state"))
	wantState(t, b, team, "w3", nil)
	wantState(t, b, team, "w4", []byte{3, byte(tracking.KindPosition), 2, 'w', '1', 2, 2, 2, '{', '}'})
	wantState(t, b, team, "w5", nil)
	wantState(t, b, team, "never", nil)
	wantLast(t, b, team, map[string]int{"w1": 1, "w2": 1, "state": 1})
	if got := statuses(t, b, team); fmt.Sprint(got) != fmt.Sprint(map[string]string{"w1": "online"}) {
		t.Fatalf("statuses in Last = %v, want w1 online", got)
	}
	if n := metricValue(t, reg, "tracking_kafka_consume_errors_total"); n != 0 {
		t.Fatalf("%v consume errors reading LastTopic and StateTopic", n)
	}
	// The watched team's cache is filled by the same read of LastTopic.
	sub, err := b.Subscribe(context.Background(), team, func([]tracking.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	wantLast(t, b, team, map[string]int{"w1": 1, "w2": 1, "state": 1})
}

// StateTopic is created compacted only, with no time limit, while LastTopic
// is deleted by age (three staleness windows, here 3 s): a state is loaded
// by a replica started after LastTopic's retention deleted everything of the
// team there (done at once with DeleteRecords rather than by waiting for the
// broker's retention check, every five minutes), and is gone only once
// deleted (a nil state).
func TestStatesOutliveLastTopicRetention(t *testing.T) {
	cfg := testConfig(t)
	cfg.StaleAfter = time.Second
	a := newReplica(t, cfg, nil)
	const team = "team_state_retention"
	broadcasttest.MustPublish(t, a, broadcasttest.Msg(team, "w1", 1))
	mustSave(t, a, team, "w1", []byte("inside fence 7"))
	waitLastRecord(t, a, team, "")

	admin := newAdmin(t, cfg.Brokers)
	configs := func(topic string) map[string]sarama.ConfigEntry {
		t.Helper()
		entries, err := kafkabroadcast.DescribeTopic(admin, topic)
		if err != nil {
			t.Fatalf("describe config of %s: %v", topic, err)
		}
		m := make(map[string]sarama.ConfigEntry, len(entries))
		for _, e := range entries {
			m[e.Name] = e
		}
		return m
	}
	want := func(topic string, got map[string]sarama.ConfigEntry, name, value string) {
		t.Helper()
		if e := got[name]; e.Value != value {
			t.Errorf("%s of %s = %q (source %v), want %q", name, topic, e.Value, e.Source, value)
		}
	}
	last := configs(cfg.LastTopic)
	want(cfg.LastTopic, last, "cleanup.policy", "compact,delete")
	want(cfg.LastTopic, last, "retention.ms", "3000")
	states := configs(cfg.StateTopic)
	want(cfg.StateTopic, states, "cleanup.policy", "compact")
	want(cfg.StateTopic, states, "retention.ms", "-1")
	want(cfg.StateTopic, states, "retention.bytes", "-1")
	want(cfg.StateTopic, states, "delete.retention.ms", "86400000")
	want(cfg.StateTopic, states, "segment.ms", "600000")
	want(cfg.StateTopic, states, "min.cleanable.dirty.ratio", "0.1")
	if t.Failed() {
		t.FailNow()
	}

	deleteRecords(t, cfg.Brokers, cfg.LastTopic, kafkabroadcast.PartitionOf(team, 12), -1) // up to the high-water mark
	b := newReplica(t, cfg, nil)
	if keys, _, err := b.LastRecords(t.Context(), team); err != nil || len(keys) != 0 {
		t.Fatalf("LastTopic after its records were deleted: %q, %v", keys, err)
	}
	wantState(t, b, team, "w1", []byte("inside fence 7"))
	mustSave(t, b, team, "w1", nil)
	wantState(t, newReplica(t, cfg, nil), team, "w1", nil)
}

// A replica's index of the states of a partition follows the partition: a
// save made elsewhere after it was read is loaded, and records deleted from
// the partition's head (by an operator: StateTopic has no retention) are
// gone from it too.
func TestLoadStateFollowsThePartition(t *testing.T) {
	cfg := testConfig(t)
	a, b := newReplica(t, cfg, nil), newReplica(t, cfg, nil)
	const team = "team_state_index"
	wantState(t, b, team, "w1", nil) // reads the partition: empty
	mustSave(t, a, team, "w1", []byte("a"))
	mustSave(t, a, team, "w2", []byte("b"))
	wantState(t, b, team, "w1", []byte("a")) // saved after b's read, acknowledged before this one
	mustSave(t, a, team, "w1", []byte("a2"))
	wantState(t, b, team, "w1", []byte("a2"))

	// Delete everything so far; the next read starts past where b's index
	// ends, so b reads the partition anew. Kafka deletes records of a topic
	// only while "delete" is in its cleanup policy.
	mustSave(t, a, team, "w3", []byte("c"))
	alterTopic(t, cfg.Brokers, cfg.StateTopic, map[string]string{"cleanup.policy": "compact,delete"})
	deleteRecords(t, cfg.Brokers, cfg.StateTopic, kafkabroadcast.PartitionOf(team, 12), -1) // up to the high-water mark
	alterTopic(t, cfg.Brokers, cfg.StateTopic, map[string]string{"cleanup.policy": "compact"})
	mustSave(t, a, team, "w4", []byte("d"))
	wantState(t, b, team, "w4", []byte("d"))
	wantState(t, b, team, "w1", nil)
	wantState(t, b, team, "w3", nil)
}

// A tombstone that compaction removed (with the state it deleted) between
// two reads of a replica's index is not missed: an index unread for half of
// StateTopic's delete.retention.ms (here 100 ms, read by New) is built anew.
func TestLoadStateAfterTombstoneCompactedAway(t *testing.T) {
	cfg := testConfig(t)
	a := newReplica(t, cfg, nil)
	const team = "team_state_tombstone"
	mustSave(t, a, team, "w1", []byte("inside"))
	alterTopic(t, cfg.Brokers, cfg.StateTopic, map[string]string{
		"delete.retention.ms": "100", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
	b := newReplica(t, cfg, nil)
	wantState(t, b, team, "w1", []byte("inside"))
	mustSave(t, a, team, "w1", nil)
	roll := 0
	testsupport.Eventually(t, 3*time.Minute, "compaction of w1's records, tombstone included", func() bool {
		time.Sleep(200 * time.Millisecond) // paces the writes that roll segments; also past b's 50 ms
		roll++
		mustSave(t, a, team, "roll", fmt.Appendf(nil, "%d", roll))
		keys, _, err := a.StateRecords(context.Background(), team)
		if err != nil {
			t.Fatal(err)
		}
		return !slices.Contains(keys, team+"/w1")
	})
	t.Logf("w1's records compacted away after %d rolling writes", roll)
	wantState(t, b, team, "w1", nil)
}

// When StateTopic is deleted and created again, a replica's index of it is
// built anew, even where the new topic's offsets have passed the index's
// (they follow on, but from another topic): the old topic's states are gone.
func TestLoadStateNoticesTopicCreatedAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.Partitions = 3
	a, b := newReplica(t, cfg, nil), newReplica(t, cfg, nil)
	const team = "team_state_recreated"
	p := kafkabroadcast.PartitionOf(team, cfg.Partitions)
	mustSave(t, a, team, "w1", []byte("old"))
	mustSave(t, a, team, "w2", []byte("old"))
	wantState(t, b, team, "w1", []byte("old")) // b's index ends at offset 2

	admin := newAdmin(t, cfg.Brokers)
	if err := admin.DeleteTopic(cfg.StateTopic); err != nil {
		t.Fatalf("delete topic %s: %v", cfg.StateTopic, err)
	}
	testsupport.Eventually(t, 30*time.Second, "topic "+cfg.StateTopic+" created again", func() bool {
		err := admin.CreateTopic(cfg.StateTopic, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: 1,
			ConfigEntries: map[string]*string{"cleanup.policy": ptr("compact")}}, false)
		return err == nil
	})
	// Past a's state producer, whose idempotent sequence belongs to the old
	// topic: offsets 0-2 of the new topic.
	for _, v := range []string{"new1", "new2", "new3"} {
		produceKV(t, cfg.Brokers, cfg.StateTopic, p, team+"/w3", append([]byte{0xff}, v...))
	}
	testsupport.Eventually(t, 30*time.Second, "b loading from the new topic", func() bool {
		return checkState(b, team, "w3", []byte("new3")) == nil
	})
	wantState(t, b, team, "w1", nil)
	wantState(t, b, team, "w2", nil)
}

func ptr[T any](v T) *T { return &v }

// produceKV writes one record of key and value to partition p of topic.
func produceKV(t *testing.T, addrs []string, topic string, p int32, key string, value []byte) {
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
	rec := &sarama.ProducerMessage{Topic: topic, Partition: p, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}
	if _, _, err := producer.SendMessage(rec); err != nil {
		t.Fatalf("produce to %s/%d: %v", topic, p, err)
	}
}

// SaveState and LoadState check their arguments, the size bound (at
// MaxStateSize it is saved), and refuse once closed.
func TestStateArguments(t *testing.T) {
	cfg := testConfig(t)
	a := newReplica(t, cfg, nil)
	ctx := context.Background()
	const team = "team_state_args"
	big := bytes.Repeat([]byte{7}, tracking.MaxStateSize)
	mustSave(t, a, team, "w1", big)
	wantState(t, a, team, "w1", big)
	err := a.SaveState(ctx, team, "w1", append(big, 7))
	var te *tracking.Error
	if !errors.As(err, &te) || te.Code != tracking.CodeTooLarge {
		t.Fatalf("save of MaxStateSize+1 bytes = %v, want a %s tracking.Error", err, tracking.CodeTooLarge)
	}
	wantState(t, a, team, "w1", big)
	for _, names := range [][2]string{{"team/x", "w1"}, {team, "w1/state"}, {team, ""}, {"", "w1"}} {
		if err := a.SaveState(ctx, names[0], names[1], []byte("x")); err == nil {
			t.Fatalf("save of %q/%q: no error", names[0], names[1])
		}
		if _, err := a.LoadState(ctx, names[0], names[1]); err == nil {
			t.Fatalf("load of %q/%q: no error", names[0], names[1])
		}
	}
	_ = a.Close()
	if err := a.SaveState(ctx, team, "w1", []byte("x")); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("save after Close = %v, want ErrClosed", err)
	}
	if _, err := a.LoadState(ctx, team, "w1"); !errors.Is(err, tracking.ErrClosed) {
		t.Fatalf("load after Close = %v, want ErrClosed", err)
	}
}

// LoadState of one team of 1,000 workers with states (and three rounds of
// their positions in LastTopic, as throttled writes leave them, which
// LoadState no longer reads): on a replica that has not read the partition
// yet, after it, and as 1,000 workers reconnecting at once. The times are
// logged (doc.go quotes them).
func TestLoadStateLatency(t *testing.T) {
	cfg := testConfig(t)
	cfg.LastInterval = 100 * time.Millisecond
	a := newReplica(t, cfg, nil)
	const team, workers = "team_state_big", 1000
	worker := func(i int) string { return fmt.Sprintf("w%04d", i) }
	state := func(i int) []byte { return fmt.Appendf(nil, "%04d%s", i, strings.Repeat("s", 196)) } // 200 bytes
	for round := 1; round <= 3; round++ {
		msgs := make([]tracking.Message, 0, workers)
		for i := range workers {
			msgs = append(msgs, broadcasttest.Msg(team, worker(i), round))
		}
		broadcasttest.MustPublish(t, a, msgs...)
		time.Sleep(150 * time.Millisecond) // each round its own throttled write
	}
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < workers; i += 16 {
				if err := a.SaveState(context.Background(), team, worker(i), state(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	saved := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	start = time.Now()
	for range 100 { // one after another, as a worker's replica saves
		mustSave(t, a, team, worker(0), state(0))
	}
	oneSave := time.Since(start) / 100
	keys, _, err := a.StateRecords(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}

	b := newReplica(t, cfg, nil)
	start = time.Now()
	wantState(t, b, team, worker(500), state(500))
	first := time.Since(start)
	start = time.Now()
	for i := range workers {
		wantState(t, b, team, worker(i), state(i))
	}
	each := time.Since(start) / workers

	c := newReplica(t, cfg, nil)
	durations := make([]time.Duration, workers)
	start = time.Now()
	for i := range workers {
		wg.Go(func() {
			t0 := time.Now()
			if err := checkState(c, team, worker(i), state(i)); err != nil {
				t.Error(err)
			}
			durations[i] = time.Since(t0)
		})
	}
	wg.Wait()
	storm := time.Since(start)
	slices.Sort(durations)
	t.Logf("%d states saved in %v (16 at a time), one SaveState %v; state partition of %d records: first LoadState %v, then %v each; "+
		"%d at once on a new replica: all in %v, median %v, max %v",
		workers, saved, oneSave, len(keys), first, each, workers, storm, durations[workers/2], durations[workers-1])
}
