package kafkabroadcast

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// LastTopic settings: compaction keeps one record per key (a worker's
// position, a session's status); a short segment and a low dirty ratio keep
// the uncompacted head (which every snapshot read scans) to about a minute of
// throttled writes.
const (
	lastSegmentMS      = "60000"
	lastDirtyRatio     = "0.1"
	positionsSegmentMS = "600000" // lets retention.ms delete within ten minutes of its due
)

// StateTopic settings: compacted only, so a worker's latest state stays until
// a tombstone replaces it. Saves come on geofence events, far fewer than
// positions: ten-minute segments and a low dirty ratio keep the uncompacted
// part (read in full only when a replica builds its index, state.go) to
// about ten minutes of saves. A tombstone stays delete.retention.ms after
// its segment is cleaned, which bounds how long a replica's index may go
// without reading the topic (stateIndex).
const (
	stateSegmentMS          = "600000"
	stateDirtyRatio         = "0.1"
	stateTombstoneRetention = 24 * time.Hour
)

// topicsInfo is what ensureTopics found of the topics.
type topicsInfo struct {
	// Partition counts, which may differ from Config.Partitions for topics
	// made elsewhere.
	positions, last, states int32
	// stateTombstones is StateTopic's delete.retention.ms; negative when
	// it could not be read.
	stateTombstones time.Duration
}

// ensureTopics creates the positions, last and state topics if they do not
// exist, waits until every partition of each has a leader, and reads the
// state topic's delete.retention.ms (it may have been made elsewhere, or
// altered).
func ensureTopics(ctx context.Context, client sarama.Client, cfg *Config) (topicsInfo, error) {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return topicsInfo{}, fmt.Errorf("cluster admin: %w", err)
	}
	// admin.Close would close client, which the Broadcaster still uses; the
	// admin holds nothing else.
	str := func(s string) *string { return &s }
	ms := func(d time.Duration) *string { return str(strconv.FormatInt(d.Milliseconds(), 10)) }
	minISR := minInsync(cfg)
	topics := []struct {
		name   string
		config map[string]*string
	}{
		{cfg.Topic, map[string]*string{
			"cleanup.policy":      str("delete"),
			"retention.ms":        ms(cfg.Retention),
			"segment.ms":          str(positionsSegmentMS),
			"min.insync.replicas": minISR,
		}},
		{cfg.LastTopic, map[string]*string{
			// Compacted, and also deleted by age: a worker silent for three
			// staleness windows is never served again, so its record only
			// lengthens snapshot reads.
			"cleanup.policy":            str("compact,delete"),
			"retention.ms":              ms(3 * cfg.StaleAfter),
			"segment.ms":                str(lastSegmentMS),
			"min.cleanable.dirty.ratio": str(lastDirtyRatio),
			"min.insync.replicas":       minISR,
		}},
		{cfg.StateTopic, map[string]*string{
			// Compacted only: a state is kept however long its worker is
			// silent. retention.ms is ignored without "delete" in the
			// policy; -1 says so to whoever adds it, and to brokers (such as
			// kfake) that apply it regardless.
			"cleanup.policy":            str("compact"),
			"retention.ms":              str("-1"),
			"delete.retention.ms":       ms(stateTombstoneRetention),
			"segment.ms":                str(stateSegmentMS),
			"min.cleanable.dirty.ratio": str(stateDirtyRatio),
			"min.insync.replicas":       minISR,
		}},
	}
	counts := make([]int32, len(topics))
	for i, t := range topics {
		err := admin.CreateTopic(t.name, &sarama.TopicDetail{
			NumPartitions:     cfg.Partitions,
			ReplicationFactor: cfg.ReplicationFactor,
			ConfigEntries:     t.config,
		}, false)
		switch {
		case err == nil:
			cfg.Logger.Info("created topic", "topic", t.name, "partitions", cfg.Partitions,
				"replication_factor", cfg.ReplicationFactor, "min_insync_replicas", cfg.MinInsyncReplicas)
		case errors.Is(err, sarama.ErrTopicAlreadyExists):
		default:
			return topicsInfo{}, fmt.Errorf("create topic %s: %w", t.name, err)
		}
		if counts[i], err = waitForLeaders(ctx, client, t.name); err != nil {
			return topicsInfo{}, err
		}
		if counts[i] != cfg.Partitions {
			cfg.Logger.Warn("topic exists with another partition count; using it",
				"topic", t.name, "partitions", counts[i], "configured", cfg.Partitions)
		}
	}
	info := topicsInfo{positions: counts[0], last: counts[1], states: counts[2]}
	if info.stateTombstones, err = tombstoneRetention(admin, cfg.StateTopic); err != nil {
		info.stateTombstones = -1
		cfg.Logger.Warn("cannot read delete.retention.ms of the state topic: the index of worker states is built anew every StaleAfter",
			"topic", cfg.StateTopic, "err", err)
	}
	return info, nil
}

// minInsync is the min.insync.replicas of the topics New creates.
func minInsync(cfg *Config) *string {
	s := strconv.Itoa(int(cfg.MinInsyncReplicas))
	return &s
}

// tombstoneRetention reads the delete.retention.ms of topic.
func tombstoneRetention(admin sarama.ClusterAdmin, topic string) (time.Duration, error) {
	entries, err := describeTopic(admin, topic, "delete.retention.ms")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.Name == "delete.retention.ms" {
			ms, err := strconv.ParseInt(e.Value, 10, 64)
			if err != nil || ms < 0 {
				return 0, fmt.Errorf("delete.retention.ms of %s is %q", topic, e.Value)
			}
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("no delete.retention.ms in the configs of %s", topic)
}

// waitForLeaders polls until every partition of topic has a leader that
// answers offset look-ups: a topic just created is neither writable nor
// readable before, and its leaders may show in metadata a moment before they
// answer.
func waitForLeaders(ctx context.Context, client sarama.Client, topic string) (int32, error) {
	for {
		n, err := leaders(client, topic)
		if err == nil {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for leaders of topic %s: %w (last: %w)", topic, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func leaders(client sarama.Client, topic string) (int32, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return 0, err
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	if len(parts) == 0 {
		return 0, sarama.ErrUnknownTopicOrPartition
	}
	for _, p := range parts {
		if _, err := client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return 0, err
		}
	}
	return int32(len(parts)), nil
}

// describeTopic returns the configuration entries of topic (those named, or
// all when none is).
func describeTopic(admin sarama.ClusterAdmin, topic string, names ...string) ([]sarama.ConfigEntry, error) {
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: names}},
		sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, err
	}
	var entries []sarama.ConfigEntry
	for _, r := range results {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			return nil, &sarama.DescribeConfigError{Err: r.ErrorCode, ErrMsg: r.ErrorMsg}
		}
		entries = append(entries, r.Configs...)
	}
	return entries, nil
}
