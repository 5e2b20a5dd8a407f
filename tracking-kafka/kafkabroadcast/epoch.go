package kafkabroadcast

import (
	"errors"
	"fmt"
	"math"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

// Offsets of the positions topic (see the package doc, Resuming). The
// position at index i of the frame of the record at Kafka offset k of
// partition p is Offset{Epoch: epochOf(id, p), Seq: k+1, Index: i}. Seq is
// the Kafka offset plus one so that "before the first record" has a Seq (0):
// a mark Offset{e, n, throughRecord} comes after every position of the
// records before Kafka offset n and before any of the others. Since with a
// zero offset answers such a mark at the high-water mark.
const throughRecord = math.MaxUint64

// positionOffset is the Offset of the position at index i of the record at
// Kafka offset k.
func positionOffset(epoch uint64, k int64, i int) tracking.Offset {
	return tracking.Offset{Epoch: epoch, Seq: uint64(k) + 1, Index: uint64(i)}
}

// headMark is the Offset that follows every record before Kafka offset hwm.
func headMark(epoch uint64, hwm int64) tracking.Offset {
	return tracking.Offset{Epoch: epoch, Seq: uint64(hwm), Index: throughRecord}
}

// firstRecord is the Kafka offset of the first record that may hold a
// position after o: o's own record, unless o is a mark that covers it. It
// is -1 for an Offset of Seq 0 that is not a mark (no position has one).
// The caller has checked that o.Seq is at most a high-water mark.
func firstRecord(o tracking.Offset) int64 {
	if o.Index == throughRecord {
		return int64(o.Seq)
	}
	return int64(o.Seq) - 1
}

// epochOf folds the identity of the positions topic's data (dataID) and a
// partition number into an Epoch, never zero: offsets are per partition, and
// a team lives in another partition when the partition count changes.
// FNV-1a, 64 bits.
func epochOf(id string, p int32) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime64
	}
	for shift := 24; shift >= 0; shift -= 8 {
		h ^= uint64(byte(uint32(p) >> shift))
		h *= prime64
	}
	if h == 0 {
		return 1
	}
	return h
}

// epoch is the Epoch of partition p as last looked up.
func (b *Broadcaster) epoch(p int32) uint64 { return epochOf(*b.dataID.Load(), p) }

// refreshEpoch looks up the identity of the positions topic's data again and
// returns the Epoch of partition p. A change is logged: offsets of the older
// epoch can no longer be resumed.
func (b *Broadcaster) refreshEpoch(p int32) (uint64, error) {
	id, _, err := b.lookupDataID(b.cfg.Topic)
	if err != nil {
		return 0, err
	}
	if old := b.dataID.Swap(&id); old != nil && *old != id {
		b.log.Warn("the positions topic holds new data (deleted and created again, or a new cluster): streams resume from a snapshot",
			"topic", b.cfg.Topic)
	}
	return epochOf(id, p), nil
}

// lookupDataID asks the cluster what names the data of topic (the positions
// topic, or the state topic for the index of states): its topic ID (Metadata
// version 10 and later, Kafka 2.8 and later), which a topic created anew does
// not share. From brokers or a KafkaVersion too old to give one, it is the
// cluster ID and the topic's name (fromTopicID false), which tell a
// reformatted cluster but not a topic created again.
func (b *Broadcaster) lookupDataID(topic string) (id string, fromTopicID bool, err error) {
	err = b.retry(func() error {
		broker := b.control.LeastLoadedBroker()
		if broker == nil {
			return sarama.ErrClosedClient
		}
		// The highest version the configured KafkaVersion allows; sarama
		// lowers it to what the broker supports.
		req := sarama.NewMetadataRequest(b.control.Config().Version, []string{topic})
		resp, err := broker.GetMetadata(req)
		if err != nil {
			return err
		}
		if len(resp.Topics) != 1 || resp.Topics[0].Name != topic {
			return errors.New("metadata response without the topic")
		}
		t := resp.Topics[0]
		if t.Err != sarama.ErrNoError {
			return t.Err
		}
		if t.Uuid != (sarama.Uuid{}) {
			id, fromTopicID = "topic-id:"+string(t.Uuid[:]), true
			return nil
		}
		cluster := ""
		if resp.ClusterID != nil {
			cluster = *resp.ClusterID
		}
		id, fromTopicID = "cluster-id:"+cluster+"/"+topic, false
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("topic id of %s: %w", topic, err)
	}
	return id, fromTopicID, nil
}
