package kafkabroadcast

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes a Broadcaster. Zero fields take the default in their comment;
// New applies the defaults, then validates.
type Config struct {
	// Brokers are the bootstrap addresses, host:port. Required.
	Brokers []string
	// Topic carries live positions, statuses and alerts, keyed by team.
	// Default "tracking.positions".
	Topic string
	// LastTopic is the compacted topic of last known positions, keyed
	// "team/worker", and statuses, keyed "team/worker/status/<session>".
	// New creates it with retention.ms 3*StaleAfter.
	// Default "tracking.positions.last".
	LastTopic string
	// StateTopic is the topic of worker states (tracking.StateStore), keyed
	// "team/worker". New creates it compacted only, with no time-based
	// deletion: a state is kept until it is saved again or deleted (a nil
	// state). Default "tracking.worker.states".
	StateTopic string
	// MailboxTopic carries mail (tracking.Mailbox), key "team/worker" or
	// "team/" for the team, partitioned by team like Topic. New creates it
	// deleting records after 10 minutes: mail is live, nobody reads it late.
	// Default "tracking.mailbox".
	MailboxTopic string
	// Partitions is the partition count of the four topics when New
	// creates them. Existing topics keep theirs. Default 12.
	Partitions int32
	// ReplicationFactor of the four topics when New creates them. Default 1.
	ReplicationFactor int16
	// MinInsyncReplicas is the min.insync.replicas of the four topics when
	// New creates them: the replicas (the leader included) that must have a
	// record before the producer, which waits for all in-sync replicas
	// (acks=all), is told it is written; with fewer in sync, writes fail
	// and are retried. At most ReplicationFactor. Default
	// ReplicationFactor-1, at least 1: with 3 replicas a record is on two
	// brokers when acknowledged, and writes go on while one broker is down.
	MinInsyncReplicas int16
	// Retention of the live positions topic (retention.ms) when New creates
	// it; it is also the window in which a stream can be resumed (Since).
	// Default 1h.
	Retention time.Duration
	// StaleAfter is how long a last known position or status is served,
	// from its receipt. Default 10m.
	StaleAfter time.Duration
	// LastInterval is the least time between two writes of one worker's last
	// known position (or status); the newest pending one is always written at
	// the next tick. Default 1s.
	LastInterval time.Duration
	// ClientID names this replica's connections at the broker. Default "tracking-kafka".
	ClientID string
	// KafkaVersion is the protocol version assumed of the brokers, at least
	// 0.11 (idempotent producer). Default "3.0.0".
	KafkaVersion string
	// Linger is how long the producer gathers positions into one produce
	// request (Producer.Flush.Frequency). Default 2ms.
	Linger time.Duration
	// FlushBytes sends a produce request before Linger once this many bytes
	// are buffered (Producer.Flush.Bytes). Default 64 KiB.
	FlushBytes int
	// QueueSize bounds the positions queued by Publish and not yet handed to
	// the producer; Publish returns tracking.ErrOverloaded when it is full.
	// Default 16384.
	QueueSize int
	// FetchMaxWait is how long a fetch waits at the broker for new records
	// (Consumer.MaxWaitTime). It also bounds how long a newly watched
	// partition waits for the fetch in progress. Default 250ms.
	FetchMaxWait time.Duration
	// ReaderLinger is how long the reader of a partition of Topic goes on
	// reading after the last subscription of a team in it ended, so that a
	// manager who reconnects (a resume, a page reload) finds it running
	// instead of waiting for a new one to start. Default 30s.
	ReaderLinger time.Duration
	// DialTimeout bounds one connection attempt to a broker. Default 5s.
	DialTimeout time.Duration
	// CloseGrace is how long Close keeps handing queued positions to the
	// producer; what is left after it is counted as a publish error. Default 2s.
	CloseGrace time.Duration
	// Logger receives the broadcaster's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the broadcaster's metrics. Default: none.
	Registerer prometheus.Registerer
}

// DefaultBrokers is what a reader of settings offers when none are given;
// New itself requires Brokers.
var DefaultBrokers = []string{"localhost:9092"}

// WithDefaults returns c with the defaults New fills in, and DefaultBrokers
// when it has none, so that a reader of settings (cmd/tracking-kafka) offers
// them without writing them again.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	if len(c.Brokers) == 0 {
		c.Brokers = DefaultBrokers
	}
	return c
}

func (c *Config) setDefaults() {
	setDefault(&c.Topic, "tracking.positions")
	setDefault(&c.LastTopic, "tracking.positions.last")
	setDefault(&c.StateTopic, "tracking.worker.states")
	setDefault(&c.MailboxTopic, "tracking.mailbox")
	setDefault(&c.Partitions, 12)
	setDefault(&c.ReplicationFactor, 1)
	setDefault(&c.MinInsyncReplicas, max(1, c.ReplicationFactor-1))
	setDefault(&c.Retention, time.Hour)
	setDefault(&c.StaleAfter, 10*time.Minute)
	setDefault(&c.LastInterval, time.Second)
	setDefault(&c.ClientID, "tracking-kafka")
	setDefault(&c.KafkaVersion, "3.0.0")
	setDefault(&c.Linger, 2*time.Millisecond)
	setDefault(&c.FlushBytes, 64<<10)
	setDefault(&c.QueueSize, 16384)
	setDefault(&c.FetchMaxWait, 250*time.Millisecond)
	setDefault(&c.ReaderLinger, 30*time.Second)
	setDefault(&c.DialTimeout, 5*time.Second)
	setDefault(&c.CloseGrace, 2*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// validate checks c after setDefaults and returns the parsed Kafka version.
func (c *Config) validate() (sarama.KafkaVersion, error) {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers is empty"))
	}
	for _, b := range c.Brokers {
		if b == "" {
			errs = append(errs, errors.New("Brokers has an empty address"))
		}
	}
	errs = append(errs, validTopic("Topic", c.Topic), validTopic("LastTopic", c.LastTopic), validTopic("StateTopic", c.StateTopic))
	if c.Topic == c.LastTopic {
		errs = append(errs, fmt.Errorf("Topic and LastTopic are both %q", c.Topic))
	}
	// A state topic shared with another would be given the other's cleanup
	// policy, or give it ours.
	if c.StateTopic == c.Topic {
		errs = append(errs, fmt.Errorf("Topic and StateTopic are both %q", c.Topic))
	}
	if c.StateTopic == c.LastTopic {
		errs = append(errs, fmt.Errorf("LastTopic and StateTopic are both %q", c.LastTopic))
	}
	errs = append(errs, validTopic("MailboxTopic", c.MailboxTopic))
	if c.MailboxTopic == c.Topic || c.MailboxTopic == c.LastTopic || c.MailboxTopic == c.StateTopic {
		errs = append(errs, fmt.Errorf("MailboxTopic %q is also Topic, LastTopic or StateTopic", c.MailboxTopic))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("Partitions must be at least 1, got %d", c.Partitions))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("ReplicationFactor must be at least 1, got %d", c.ReplicationFactor))
	}
	if c.MinInsyncReplicas < 1 || c.MinInsyncReplicas > max(1, c.ReplicationFactor) {
		errs = append(errs, fmt.Errorf("MinInsyncReplicas must be from 1 to ReplicationFactor (%d), got %d",
			c.ReplicationFactor, c.MinInsyncReplicas))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Retention", c.Retention}, {"StaleAfter", c.StaleAfter}, {"LastInterval", c.LastInterval},
		{"Linger", c.Linger}, {"FetchMaxWait", c.FetchMaxWait}, {"ReaderLinger", c.ReaderLinger}, {"DialTimeout", c.DialTimeout},
		{"CloseGrace", c.CloseGrace},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	if c.FlushBytes < 0 {
		errs = append(errs, fmt.Errorf("FlushBytes must not be negative, got %d", c.FlushBytes))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("QueueSize must be at least 1, got %d", c.QueueSize))
	}
	version, err := sarama.ParseKafkaVersion(c.KafkaVersion)
	if err != nil {
		errs = append(errs, fmt.Errorf("KafkaVersion: %w", err))
	} else if !version.IsAtLeast(sarama.V0_11_0_0) {
		errs = append(errs, fmt.Errorf("KafkaVersion must be at least 0.11.0 for the idempotent producer, got %s", c.KafkaVersion))
	}
	if err := errors.Join(errs...); err != nil {
		return version, fmt.Errorf("kafkabroadcast config: %w", err)
	}
	return version, nil
}

// validTopic applies Kafka's rules for topic names.
func validTopic(field, name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf("%s %q is not a valid topic name", field, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%s %q may contain only letters, digits and ._-", field, name)
		}
	}
	return nil
}
