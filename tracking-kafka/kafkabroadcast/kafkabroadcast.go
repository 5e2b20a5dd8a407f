package kafkabroadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

// Broadcaster is the Kafka implementation of tracking.Broadcaster: one replica's
// connection to the cluster.
type Broadcaster struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	nPos   int32 // partitions of cfg.Topic
	nLast  int32 // partitions of cfg.LastTopic
	nState int32 // partitions of cfg.StateTopic
	// stateIdle is the longest an index of states may go unread and still
	// follow on (stateIndex): half of StateTopic's delete.retention.ms, or
	// StaleAfter when that could not be read.
	stateIdle time.Duration

	// dataID names the data of cfg.Topic (its topic ID): with the partition,
	// it makes the Epoch of delivered offsets (epoch.go). Looked up in New,
	// by every Since and when a partition consumer restarts.
	dataID atomic.Pointer[string]

	produceClient sarama.Client
	fetchClient   sarama.Client
	control       sarama.Client
	producer      sarama.AsyncProducer
	stateClient   sarama.Client
	stateProducer sarama.AsyncProducer // SaveState's records (state.go)
	consumer      sarama.Consumer      // live partition consumers (fetch client, offsets via control)
	fetchBytes    int32                // a partition's byte limit in the Fetch requests of readRange

	// Publish side (producer.go, lastwrite.go).
	pubMu     sync.RWMutex // Publish holds it shared while it enqueues; Close exclusively to stop it
	pubClosed bool
	queue     chan tracking.Message
	queued    atomic.Int64 // reserved or filled slots of queue
	lastw     *lastWriter  // owned by the pump goroutine

	mail mailState // tracking.Mailbox (mailbox.go)

	quit chan struct{} // closed when Close starts: aborts waits of Last, Since, LoadState and Ready

	mu      sync.Mutex // guards the fields below
	closed  bool
	readers map[int32]*reader        // live partition readers, lingering ones included, by partition
	prev    map[int32]*reader        // the reader of a partition that last stopped
	subs    map[string]*subscription // by team: one each
	probe   *probe                   // the readiness probe in flight
	states  map[int32]*stateIndex    // worker states by partition of StateTopic (state.go)

	ops       sync.WaitGroup // calls in progress: Subscribe, Last, Since, SaveState, LoadState
	wg        sync.WaitGroup // goroutines
	fetches   sync.WaitGroup // Fetch requests of readRange; an abandoned one ends when the clients close
	closeOnce sync.Once
	pumpDone  chan struct{}
}

var _ tracking.Broadcaster = (*Broadcaster)(nil)

// New connects to the cluster, creates the topics if needed and starts the
// producer. It retries connecting until ctx is done, so that a replica may
// start before its broker.
func New(ctx context.Context, cfg Config) (*Broadcaster, error) {
	cfg.setDefaults()
	version, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	b := &Broadcaster{
		cfg:      cfg,
		log:      cfg.Logger,
		queue:    make(chan tracking.Message, cfg.QueueSize),
		lastw:    newLastWriter(),
		quit:     make(chan struct{}),
		readers:  make(map[int32]*reader),
		prev:     make(map[int32]*reader),
		subs:     make(map[string]*subscription),
		states:   make(map[int32]*stateIndex),
		pumpDone: make(chan struct{}),
	}
	b.m = newMetrics(&b.queued)

	var clients []sarama.Client
	fail := func(err error) (*Broadcaster, error) {
		for i := len(clients) - 1; i >= 0; i-- {
			_ = clients[i].Close()
		}
		return nil, err
	}
	connect := func(role string, conf *sarama.Config) (sarama.Client, error) {
		c, err := dial(ctx, b.log, cfg.Brokers, conf)
		if err != nil {
			return nil, fmt.Errorf("connect %s client to %v: %w", role, cfg.Brokers, err)
		}
		clients = append(clients, c)
		return c, nil
	}
	if b.control, err = connect("control", controlConfig(&cfg, version)); err != nil {
		return fail(err)
	}
	b.fetchBytes = b.control.Config().Consumer.Fetch.Default
	topics, err := ensureTopics(ctx, b.control, &cfg)
	if err != nil {
		return fail(err)
	}
	if err := b.ensureMailbox(ctx); err != nil {
		return fail(err)
	}
	b.nPos, b.nLast, b.nState = topics.positions, topics.last, topics.states
	b.stateIdle = topics.stateTombstones / 2
	if topics.stateTombstones < 0 {
		b.stateIdle = cfg.StaleAfter
	}
	id, fromTopicID, err := b.lookupDataID(cfg.Topic)
	if err != nil {
		return fail(err)
	}
	b.dataID.Store(&id)
	if !fromTopicID {
		b.log.Warn("kafka gives no topic ID (KafkaVersion or brokers older than 2.8): stream epochs come from the cluster ID, "+
			"so a positions topic deleted and created again is not told apart", "topic", cfg.Topic)
	}
	if b.produceClient, err = connect("produce", producerConfig(&cfg, version)); err != nil {
		return fail(err)
	}
	if b.fetchClient, err = connect("fetch", fetchConfig(&cfg, version)); err != nil {
		return fail(err)
	}
	if b.consumer, err = sarama.NewConsumerFromClient(offsetsVia{b.fetchClient, b.control}); err != nil {
		return fail(fmt.Errorf("consumer: %w", err))
	}
	if b.producer, err = sarama.NewAsyncProducerFromClient(b.produceClient); err != nil {
		return fail(fmt.Errorf("producer: %w", err))
	}
	if b.stateClient, err = connect("state", stateProducerConfig(&cfg, version)); err != nil {
		_ = b.producer.Close()
		return fail(err)
	}
	if b.stateProducer, err = sarama.NewAsyncProducerFromClient(b.stateClient); err != nil {
		_ = b.producer.Close()
		return fail(fmt.Errorf("state producer: %w", err))
	}
	if err := b.m.register(cfg.Registerer); err != nil {
		_ = b.producer.Close()
		_ = b.stateProducer.Close()
		return fail(err)
	}
	b.wg.Add(3)
	go b.pump()
	go b.producerErrors()
	go b.stateAcks()
	b.startMail()
	b.log.Info("kafka broadcaster started", "brokers", cfg.Brokers, "topic", cfg.Topic,
		"partitions", b.nPos, "last_topic", cfg.LastTopic, "last_partitions", b.nLast,
		"state_topic", cfg.StateTopic, "state_partitions", b.nState)
	return b, nil
}

// dial makes a sarama client, retrying with backoff until ctx is done.
func dial(ctx context.Context, log *slog.Logger, brokers []string, conf *sarama.Config) (sarama.Client, error) {
	wait := backoff(100*time.Millisecond, 2*time.Second)
	for attempt := 1; ; attempt++ {
		c, err := sarama.NewClient(brokers, conf)
		if err == nil {
			return c, nil
		}
		var confErr sarama.ConfigurationError
		if errors.As(err, &confErr) {
			return nil, err
		}
		log.Warn("kafka not reachable yet; retrying", "brokers", brokers, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait(attempt)):
		}
	}
}

// unavailable is err as a tracking.Error with code unavailable; its text has
// the cause, its client-facing message only msg.
func unavailable(msg string, err error) error {
	return fmt.Errorf("%w: %w", &tracking.Error{Code: tracking.CodeUnavailable, Message: msg, Err: err}, err)
}

// offset looks up an offset of a partition on the control client.
func (b *Broadcaster) offset(topic string, p int32, at int64) (int64, error) {
	var off int64
	err := b.retry(func() (err error) {
		off, err = b.control.GetOffset(topic, p, at)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("offset of %s/%d: %w", topic, p, err)
	}
	return off, nil
}

// retry runs a look-up on the control client up to three times, briefly
// apart: a leader that has just moved or been elected refuses for a moment.
// Close aborts the waits (tracking.ErrClosed).
func (b *Broadcaster) retry(f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == 3 {
			return err
		}
		select {
		case <-b.quit:
			return tracking.ErrClosed
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// begin registers a call in progress, unless the Broadcaster is closed.
func (b *Broadcaster) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.ops.Add(1)
	return true
}

// Close stops publishing, ends every subscription, hands what is queued to the
// producer within CloseGrace, closes the producer and the clients, and waits
// for every goroutine. It is idempotent.
func (b *Broadcaster) Close() error {
	b.closeOnce.Do(func() {
		b.pubMu.Lock()
		b.pubClosed = true
		b.pubMu.Unlock()

		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.quit)
		b.ops.Wait() // Subscribe, Last, Since, SaveState and LoadState calls in progress finish or abort

		b.mu.Lock()
		subs := make([]*subscription, 0, len(b.subs))
		for _, s := range b.subs {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		for _, s := range subs {
			s.Unsubscribe()
		}
		b.retireLingering()

		<-b.pumpDone      // it drains the queue within CloseGrace once quit is closed
		<-b.mail.pumpDone // and so does the mail's
		b.producer.AsyncClose()
		b.stateProducer.AsyncClose() // no SaveState in progress: nothing in it
		b.wg.Wait()                  // partition readers, producer errors and state acknowledgements (end when the producers have closed), probes

		_ = b.consumer.Close()
		for _, c := range []sarama.Client{b.fetchClient, b.produceClient, b.stateClient, b.control} {
			if err := c.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
				b.log.Warn("close kafka client", "err", err)
			}
		}
		b.fetches.Wait()
		b.log.Info("kafka broadcaster closed")
	})
	return nil
}
