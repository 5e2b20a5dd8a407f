package kafkabroadcast

import (
	"time"

	"github.com/IBM/sarama"
)

// A Broadcaster holds four sarama clients, each with its own connections,
// because a Kafka broker answers the requests of one connection one at a time:
//   - produce: the idempotent producer alone (it needs MaxOpenRequests = 1);
//   - state: the idempotent producer of worker states (SaveState), which
//     waits for each record's acknowledgement: returning the successes of
//     the positions' producer too cost it throughput, and a save does not
//     queue behind a burst of positions;
//   - fetch: the live partition consumers, whose fetches wait up to
//     FetchMaxWait at the broker;
//   - control: topic creation, offset and topic ID look-ups, readiness
//     probes and the bounded reads of Last and Since, so that Subscribe, Last
//     and Since never queue behind a fetch that is waiting for new records.

// producerRetries is the producer's Retry.Max (see producerConfig).
const producerRetries = 40

// baseConfig is what every client shares.
func baseConfig(cfg *Config, version sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = cfg.ClientID
	c.Version = version
	c.MetricRegistry = discardRegistry{}
	c.Net.DialTimeout = cfg.DialTimeout
	c.Net.ReadTimeout = 30 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Full = false                   // only the topics we use; control overrides
	c.Metadata.AllowAutoTopicCreation = false // New creates them, with the right settings
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Metadata.Timeout = 10 * time.Second
	return c
}

func producerConfig(cfg *Config, version sarama.KafkaVersion) *sarama.Config {
	c := baseConfig(cfg, version)
	p := &c.Producer
	p.Idempotent = true // no duplicates or reordering when a request is retried
	p.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1 // required by Idempotent; keeps per-partition order
	// A record is retried for about 40 s (the backoff grows from 100 ms to
	// 1 s): long enough for the loss of a partition's leader to be noticed
	// (broker.session.timeout.ms, 9 s by default) and leadership to move to
	// an in-sync replica, so that a broker's crash loses no position.
	p.Retry.Max = producerRetries
	retryBackoff := backoff(100*time.Millisecond, time.Second)
	p.Retry.BackoffFunc = func(retries, _ int) time.Duration { return retryBackoff(retries) }
	p.Partitioner = sarama.NewManualPartitioner // partitionOf sets every record's partition
	p.Flush.Frequency = cfg.Linger
	p.Flush.Bytes = cfg.FlushBytes
	p.Return.Errors = true
	p.Return.Successes = false
	c.ChannelBufferSize = 1024
	return c
}

// stateProducerConfig is producerConfig returning successes, sending each
// record at once.
func stateProducerConfig(cfg *Config, version sarama.KafkaVersion) *sarama.Config {
	c := producerConfig(cfg, version)
	c.Producer.Return.Successes = true
	c.Producer.Flush.Frequency, c.Producer.Flush.Bytes = 0, 0
	c.ChannelBufferSize = 256
	return c
}

func fetchConfig(cfg *Config, version sarama.KafkaVersion) *sarama.Config {
	c := baseConfig(cfg, version)
	c.Consumer.MaxWaitTime = cfg.FetchMaxWait
	c.Net.ReadTimeout = cfg.FetchMaxWait + 30*time.Second
	c.Consumer.Return.Errors = true
	c.Consumer.Retry.BackoffFunc = backoff(250*time.Millisecond, 2*time.Second)
	c.Consumer.Offsets.AutoCommit.Enable = false // no consumer group, nothing to commit
	return c
}

func controlConfig(cfg *Config, version sarama.KafkaVersion) *sarama.Config {
	c := baseConfig(cfg, version)
	// The Fetch requests of readRange (Last, Since): the records exist up to
	// the high-water mark, so a fetch that finds none must not hold the
	// connection; 4 MiB of a partition per request.
	c.Consumer.MaxWaitTime = 20 * time.Millisecond
	c.Consumer.Fetch.Default = 4 << 20
	c.Admin.Timeout = 10 * time.Second
	// Full metadata: NewClient then connects (New's reachability check) and
	// the controller is known (topic creation).
	c.Metadata.Full = true
	return c
}

// offsetsVia is the client of the live partition consumers: their fetches use
// the fetch client, their offset look-ups the control client.
type offsetsVia struct {
	sarama.Client
	offsets sarama.Client
}

func (c offsetsVia) GetOffset(topic string, partition int32, at int64) (int64, error) {
	return c.offsets.GetOffset(topic, partition, at)
}

// backoff returns an exponential backoff from lo (first retry) to hi.
func backoff(lo, hi time.Duration) func(retries int) time.Duration {
	return func(retries int) time.Duration {
		d := lo
		for i := 1; i < retries && d < hi; i++ {
			d *= 2
		}
		return min(d, hi)
	}
}
