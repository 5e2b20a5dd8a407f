package kafkabroadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

var _ tracking.Mailbox = (*Broadcaster)(nil)

// Mail (tracking.Mailbox) travels in MailboxTopic: one record per payload,
// key "team/worker" ("team/" for the team: tracking.Address.String), in the
// team's partition (partitionOf, as in Topic). Kafka has no channel per
// worker: a replica with a Listen reads the whole partition of the
// listened team, and drops the mail of the addresses it does not listen to
// (other workers of the team, other teams of the partition). What it hands
// on is only its own workers'; what it reads is the partition's traffic.
//
// One mail reader per partition, shared by the addresses in it and
// reference-counted by their Listens, starts at the partition's end when the
// first Listen of it is made (before Listen returns), so that mail posted
// after Listen returns is read; it stops with the last Listen of the
// partition. Post queues; one goroutine hands the queue to the producer in
// order, and the idempotent producer keeps a partition's order: one
// replica's mail to one address arrives in the order posted.

const (
	// mailRetention deletes mail nobody can want any more (it is live).
	mailRetention = 10 * time.Minute
	mailSegmentMS = "60000"
	// mailQueueSize bounds the mail waiting for the producer: Post answers
	// ErrOverloaded beyond it.
	mailQueueSize = 1024
)

// mailState is the Broadcaster's mail: its send queue and its readers.
type mailState struct {
	n        int32 // partitions of MailboxTopic
	queue    chan *sarama.ProducerMessage
	pumpDone chan struct{}

	mu      sync.Mutex // guards readers, prev and the readers' refs
	readers map[int32]*mailReader
	prev    map[int32]*mailReader // the reader of a partition that last stopped
}

// ensureMailbox creates MailboxTopic if it does not exist and waits for its
// leaders (New).
func (b *Broadcaster) ensureMailbox(ctx context.Context) error {
	admin, err := sarama.NewClusterAdminFromClient(b.control)
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	// admin.Close would close the control client; the admin holds nothing else.
	str := func(s string) *string { return &s }
	topic := b.cfg.MailboxTopic
	err = admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     b.cfg.Partitions,
		ReplicationFactor: b.cfg.ReplicationFactor,
		ConfigEntries: map[string]*string{
			"cleanup.policy":      str("delete"),
			"retention.ms":        str(strconv.FormatInt(mailRetention.Milliseconds(), 10)),
			"segment.ms":          str(mailSegmentMS),
			"min.insync.replicas": minInsync(&b.cfg),
		},
	}, false)
	switch {
	case err == nil:
		b.log.Info("created topic", "topic", topic, "partitions", b.cfg.Partitions)
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
	default:
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if b.mail.n, err = waitForLeaders(ctx, b.control, topic); err != nil {
		return err
	}
	return nil
}

// startMail starts the mail pump (New).
func (b *Broadcaster) startMail() {
	m := &b.mail
	m.queue = make(chan *sarama.ProducerMessage, mailQueueSize)
	m.pumpDone = make(chan struct{})
	m.readers = make(map[int32]*mailReader)
	m.prev = make(map[int32]*mailReader)
	go b.pumpMail()
}

// Post queues payload for the producer (see tracking.Mailbox).
func (b *Broadcaster) Post(ctx context.Context, to tracking.Address, payload []byte) error {
	if err := tracking.CheckMail(to, payload); err != nil {
		return err
	}
	b.pubMu.RLock()
	defer b.pubMu.RUnlock()
	if b.pubClosed {
		return tracking.ErrClosed
	}
	rec := &sarama.ProducerMessage{
		Topic:     b.cfg.MailboxTopic,
		Key:       sarama.StringEncoder(to.String()),
		Value:     sarama.ByteEncoder(bytes.Clone(payload)), // the producer holds it after Post returns
		Partition: partitionOf(to.Team, b.mail.n),
	}
	select {
	case b.mail.queue <- rec:
		return nil
	default:
		return tracking.ErrOverloaded
	}
}

// pumpMail hands the queued mail to the producer, in order, until Close.
// Producer errors are counted and logged with the positions' (producer.go).
func (b *Broadcaster) pumpMail() {
	defer close(b.mail.pumpDone)
	in := b.producer.Input()
	for {
		select {
		case rec := <-b.mail.queue:
			select {
			case in <- rec:
			case <-b.quit:
				b.drainMail(rec)
				return
			}
		case <-b.quit:
			b.drainMail(nil)
			return
		}
	}
}

// drainMail hands pending, then the queued mail, to the producer within
// CloseGrace; what is left is counted as publish errors. Post no longer
// adds to the queue (pubClosed); Close closes the producer after.
func (b *Broadcaster) drainMail(pending *sarama.ProducerMessage) {
	grace := time.NewTimer(b.cfg.CloseGrace)
	defer grace.Stop()
	in := b.producer.Input()
	for {
		if pending == nil {
			select {
			case pending = <-b.mail.queue:
			default:
				return
			}
		}
		select {
		case in <- pending:
			pending = nil
		case <-grace.C:
			n := 1 + len(b.mail.queue)
			b.m.publishErrors.Add(float64(n))
			b.log.Error("mail not handed to kafka within the close grace", "count", n)
			return
		}
	}
}

// Listen reads the team's partition of MailboxTopic, starting its reader
// at the partition's end if none runs, and hands h the payloads keyed with
// the address (see tracking.Mailbox). h runs on the reader's goroutine with
// its lock held.
func (b *Broadcaster) Listen(ctx context.Context, to tracking.Address, h func(payload []byte)) (tracking.Subscription, error) {
	if err := to.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !b.begin() {
		return nil, tracking.ErrClosed
	}
	defer b.ops.Done()

	m := &b.mail
	p := partitionOf(to.Team, m.n)
	m.mu.Lock()
	r := m.readers[p]
	starter := r == nil
	if starter {
		r = newMailReader(b, p, m.prev[p])
		m.readers[p] = r
	}
	r.refs++
	m.mu.Unlock()
	if starter {
		r.err = r.start()
		close(r.ready)
	}
	<-r.ready
	if r.err != nil {
		b.releaseMail(r)
		return nil, fmt.Errorf("listen %s: %w", to, unavailable("cannot read the mail partition of the team", r.err))
	}
	l := &mailListen{r: r, key: to.String(), h: h, stop: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.listens[l.key] = append(r.listens[l.key], l)
	r.mu.Unlock()
	b.wg.Add(1) // Close waits for this call (ops) before it waits for wg
	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
		case <-l.stop:
		case <-b.quit:
		}
		l.end()
	}()
	return l, nil
}

// releaseMail drops one reference to r; with the last, r stops.
func (b *Broadcaster) releaseMail(r *mailReader) {
	m := &b.mail
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.refs--; r.refs > 0 {
		return
	}
	if m.readers[r.p] == r {
		delete(m.readers, r.p)
		m.prev[r.p] = r
	}
	r.stopOnce.Do(func() { close(r.stop) })
}

// mailReader consumes one partition of MailboxTopic for the Listens of this
// replica whose teams live in it.
type mailReader struct {
	b    *Broadcaster
	p    int32
	prev *mailReader // the previous reader of p: it must have released the partition first

	refs     int           // Listens using the reader; guarded by mailState.mu
	ready    chan struct{} // closed once start has returned; err is its result
	err      error
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed once the partition is released

	// mu guards listens and is held while delivering, so that a Listen
	// removed under it is never called again.
	mu      sync.Mutex
	listens map[string][]*mailListen // by record key

	pc   sarama.PartitionConsumer // owned by the run goroutine
	next int64
}

func newMailReader(b *Broadcaster, p int32, prev *mailReader) *mailReader {
	return &mailReader{b: b, p: p, prev: prev, ready: make(chan struct{}), stop: make(chan struct{}),
		done: make(chan struct{}), listens: make(map[string][]*mailListen)}
}

// start begins consuming at the partition's current end (Listen).
func (r *mailReader) start() (err error) {
	defer func() {
		if err != nil {
			close(r.done)
		}
	}()
	if r.prev != nil {
		<-r.prev.done // sarama consumes a partition once per consumer
		r.prev = nil
	}
	b := r.b
	if r.next, err = b.offset(b.cfg.MailboxTopic, r.p, sarama.OffsetNewest); err != nil {
		return err
	}
	if r.pc, err = b.consumer.ConsumePartition(b.cfg.MailboxTopic, r.p, r.next); err != nil {
		return err
	}
	b.wg.Add(1) // Close waits for Listen calls before it waits for wg
	go r.run()
	return nil
}

// run delivers until the reader is stopped or the Broadcaster closes. A
// partition consumer that gives up (its offset out of range: the topic was
// deleted and made again) is started again where it was, or at the end.
func (r *mailReader) run() {
	b := r.b
	defer b.wg.Done()
	defer close(r.done)
	wait := backoff(250*time.Millisecond, 5*time.Second)
	for attempt := 0; ; {
		if r.pc != nil {
			if r.consume() {
				return
			}
			r.pc, attempt = nil, 0
		}
		attempt++
		select {
		case <-r.stop:
			return
		case <-b.quit:
			return
		case <-time.After(wait(attempt)):
		}
		pc, err := b.consumer.ConsumePartition(b.cfg.MailboxTopic, r.p, r.next)
		if errors.Is(err, sarama.ErrOffsetOutOfRange) {
			if r.next, err = b.offset(b.cfg.MailboxTopic, r.p, sarama.OffsetNewest); err == nil {
				pc, err = b.consumer.ConsumePartition(b.cfg.MailboxTopic, r.p, r.next)
			}
		}
		if err != nil {
			b.m.consumeErrors.Inc()
			b.log.Warn("restart mail partition consumer", "topic", b.cfg.MailboxTopic, "partition", r.p, "err", err)
			continue
		}
		r.pc = pc
	}
}

// consume delivers records until the reader is stopped (true) or the
// partition consumer gives up by itself (false).
func (r *mailReader) consume() (stopped bool) {
	b := r.b
	msgs, errs := r.pc.Messages(), r.pc.Errors()
	logErr := func(err *sarama.ConsumerError) {
		b.m.consumeErrors.Inc()
		b.log.Warn("consume mail", "topic", b.cfg.MailboxTopic, "partition", r.p, "err", err.Err)
	}
	for {
		select {
		case <-r.stop:
		case <-b.quit:
		case err, ok := <-errs:
			if !ok {
				errs = nil
			} else {
				logErr(err)
			}
			continue
		case msg, ok := <-msgs:
			if !ok {
				drainConsumer(nil, errs, logErr)
				return false
			}
			r.deliver(msg)
			continue
		}
		r.pc.AsyncClose()
		drainConsumer(msgs, errs, nil)
		return true
	}
}

// deliver hands a record to the Listens of its key, dropping it when there
// are none (mail of workers held elsewhere).
func (r *mailReader) deliver(msg *sarama.ConsumerMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = msg.Offset + 1
	ls := r.listens[string(msg.Key)]
	if len(ls) == 0 {
		return
	}
	// msg.Value aliases sarama's fetch buffer: one copy, shared by the Listens.
	payload := bytes.Clone(msg.Value)
	if payload == nil {
		payload = []byte{}
	}
	for _, l := range ls {
		l.h(payload)
	}
}

// mailListen is one Listen: a tracking.Subscription.
type mailListen struct {
	r        *mailReader
	key      string
	h        func(payload []byte)
	stopOnce sync.Once
	stop     chan struct{}
	endOnce  sync.Once
	done     chan struct{}
}

func (l *mailListen) Unsubscribe() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *mailListen) Done() <-chan struct{} { return l.done }

// end takes l out of the deliveries (h is not called once it returns) and
// releases its reader.
func (l *mailListen) end() {
	l.endOnce.Do(func() {
		r := l.r
		r.mu.Lock()
		ls := r.listens[l.key]
		for i, x := range ls {
			if x == l {
				ls = append(ls[:i], ls[i+1:]...)
				break
			}
		}
		if len(ls) == 0 {
			delete(r.listens, l.key)
		} else {
			r.listens[l.key] = ls
		}
		r.mu.Unlock()
		r.b.releaseMail(r)
		close(l.done)
	})
}
