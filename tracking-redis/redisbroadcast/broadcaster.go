package redisbroadcast

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Broadcaster is the Redis strategy's tracking.Broadcaster.
type Broadcaster struct {
	cfg     Config
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // rdb in a cluster, else nil
	ps      *redis.PubSub        // single server and Sentinel: the one pub/sub connection
	shards  shardGroups          // cluster: a pub/sub connection per watched team (shards.go)
	log     *slog.Logger
	m       *metrics

	queues    []chan tracking.Message // one per sender; a team always goes to the same one
	queued    atomic.Int64            // positions reserved or waiting in queues, at most cfg.QueueSize
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// subscriptions, see subscribe.go
	subMu sync.RWMutex // write-held to change subs; read-held while dispatching
	subs  map[string]*subscription

	mail mailState // tracking.Mailbox, see mailbox.go
}

var _ tracking.Broadcaster = (*Broadcaster)(nil)

// New connects to Redis and starts the sender and the reader. It does not fail
// when Redis is down: Ready reports it, and the goroutines reconnect.
func New(cfg Config) (*Broadcaster, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	rdb := cfg.newClient()
	b := &Broadcaster{
		cfg:     cfg,
		rdb:     rdb,
		log:     cfg.Logger,
		queues:  make([]chan tracking.Message, cfg.Senders),
		closing: make(chan struct{}),
		subs:    make(map[string]*subscription),
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		b.cluster = cc
		b.shards.groups = make(map[string]*shardGroup)
	} else {
		b.ps = rdb.Subscribe(context.Background())
	}
	for i := range b.queues {
		// Each queue can hold the whole reservation: a reserved send never blocks.
		b.queues[i] = make(chan tracking.Message, cfg.QueueSize)
	}
	b.m = newMetrics(cfg.Registerer, b.queueLen)
	b.wg.Add(len(b.queues))
	for _, q := range b.queues {
		go b.send(q)
	}
	if b.ps != nil {
		b.wg.Add(1)
		go b.read()
	}
	b.startMail()
	return b, nil
}

// tag is team as its keys and channels hold it: in a cluster, the hash tag
// {team}, so that all of them are in the team's slot; else the team itself
// (the key names of a single server are unchanged).
func (b *Broadcaster) tag(team string) string {
	if b.cluster != nil {
		return "{" + team + "}"
	}
	return team
}

// teamOf is the team of a team channel, or false.
func (b *Broadcaster) teamOf(ch string) (string, bool) {
	t, ok := strings.CutPrefix(ch, b.cfg.ChannelPrefix)
	if ok && b.cluster != nil {
		t, ok = strings.CutPrefix(t, "{")
		if ok {
			t, ok = strings.CutSuffix(t, "}")
		}
	}
	return t, ok
}

func (b *Broadcaster) channel(team string) string { return b.cfg.ChannelPrefix + b.tag(team) }
func (b *Broadcaster) lastKey(team string) string { return b.cfg.ChannelPrefix + "last:" + b.tag(team) }
func (b *Broadcaster) streamKey(team string) string {
	return b.cfg.ChannelPrefix + "stream:" + b.tag(team)
}
func (b *Broadcaster) metaKey(team string) string { return b.cfg.ChannelPrefix + "meta:" + b.tag(team) }
func (b *Broadcaster) statusKey(team string) string {
	return b.cfg.ChannelPrefix + "status:" + b.tag(team)
}

// Publish queues msgs for their senders, all or none; it never waits for Redis.
func (b *Broadcaster) Publish(ctx context.Context, msgs ...tracking.Message) error {
	select {
	case <-b.closing:
		return tracking.ErrClosed
	default:
	}
	n := int64(len(msgs))
	if b.queued.Add(n) > int64(b.cfg.QueueSize) {
		b.queued.Add(-n)
		return tracking.ErrOverloaded
	}
	for _, m := range msgs {
		b.queues[senderOf(m.Team, len(b.queues))] <- m
	}
	return nil
}

// senderOf picks the sender of a team (FNV-1a): one team, one sender, so a
// worker's positions stay in order.
func senderOf(team string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(team); i++ {
		h = (h ^ uint32(team[i])) * 16777619
	}
	return int(h % uint32(n))
}

func (b *Broadcaster) queueLen() float64 { return float64(b.queued.Load()) }

// send drains its queue into pipelines until Close, then flushes what is
// left. Several senders keep several pipelines in flight: a lone one waiting
// for Redis behind thousands of busy connection goroutines starves.
func (b *Broadcaster) send(queue chan tracking.Message) {
	defer b.wg.Done()
	batch := make([]tracking.Message, 0, 256)
	p := newPipeliner(b)
	defer p.close()
	var linger *time.Timer
	if b.cfg.Linger > 0 {
		linger = time.NewTimer(time.Hour)
		linger.Stop()
		defer linger.Stop()
	}
	for {
		select {
		case m := <-queue:
			b.queued.Add(-1)
			batch = append(batch[:0], m)
		case <-b.closing:
			b.flushOnClose(queue, p, batch[:0])
			return
		}
		if linger != nil {
			// Let a few more positions join: fewer, fuller pipelines and
			// PUBLISH payloads cost Redis, this replica and the receivers less.
			linger.Reset(b.cfg.Linger)
		wait:
			for len(batch) < b.cfg.MaxBatch {
				select {
				case m := <-queue:
					b.queued.Add(-1)
					batch = append(batch, m)
				case <-linger.C:
					break wait
				case <-b.closing:
					break wait
				}
			}
		}
		batch = b.fill(queue, batch)
		p.send(batch)
	}
}

// fill adds what is waiting in queue to batch, up to MaxBatch.
func (b *Broadcaster) fill(queue chan tracking.Message, batch []tracking.Message) []tracking.Message {
	for len(batch) < b.cfg.MaxBatch {
		select {
		case m := <-queue:
			b.queued.Add(-1)
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

func (b *Broadcaster) flushOnClose(queue chan tracking.Message, p *pipeliner, batch []tracking.Message) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		batch = b.fill(queue, batch[:0])
		if len(batch) == 0 {
			return
		}
		p.send(batch)
	}
	if n := len(queue); n > 0 {
		b.m.publishErrors.Add(float64(n))
		b.log.Warn("positions not sent at close", "count", n)
	}
}

// Last returns the last known positions and statuses of team received
// within StaleAfter, and removes stale ones.
func (b *Broadcaster) Last(ctx context.Context, team string) ([]tracking.Message, error) {
	select {
	case <-b.closing:
		return nil, tracking.ErrClosed
	default:
	}
	keys := [...]struct {
		key  string
		kind tracking.Kind
	}{{b.lastKey(team), tracking.KindPosition}, {b.statusKey(team), tracking.KindStatus}}
	pipe := b.rdb.Pipeline()
	var cmds [len(keys)]*redis.MapStringStringCmd
	for i, k := range keys {
		cmds[i] = pipe.HGetAll(ctx, k.key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("last positions of team %s: %w", team, err)
	}
	cutoff := time.Now().Add(-b.cfg.StaleAfter).UnixNano()
	var out []tracking.Message
	for i, k := range keys {
		var stale []string
		for worker, v := range cmds[i].Val() {
			msg, err := decodeLast(team, v, k.kind)
			if err != nil || msg.Received < cutoff || msg.Kind != k.kind {
				stale = append(stale, worker)
				continue
			}
			out = append(out, msg)
		}
		if len(stale) > 0 {
			if err := b.rdb.HDel(ctx, k.key, stale...).Err(); err != nil {
				b.log.Debug("remove stale last messages", "team", team, "kind", k.kind, "err", err)
			}
		}
	}
	return out, nil
}

// encodeLast is a last-known value: its order key, bytes that compare
// bytewise in the order of tracking.Message.Supersedes (publishScript
// compares them) — a position's fix time (8 bytes), a status's session and
// change (16) —, then the frame.
func encodeLast(dst []byte, m tracking.Message) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Time)^(1<<63))
	if m.Kind == tracking.KindStatus {
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.Received)^(1<<63))
	}
	return wire.AppendFrame(dst, m)
}

func decodeLast(team, v string, kind tracking.Kind) (tracking.Message, error) {
	key := 8
	if kind == tracking.KindStatus {
		key = 16
	}
	if len(v) < key+1 {
		return tracking.Message{}, fmt.Errorf("short last-%s value", kind)
	}
	msgs, err := wire.DecodeFrame(nil, team, []byte(v[key:]))
	if err != nil {
		return tracking.Message{}, fmt.Errorf("bad last-position value: %w", err)
	}
	if len(msgs) != 1 {
		return tracking.Message{}, fmt.Errorf("bad last-position value: %d positions, want 1", len(msgs))
	}
	return msgs[0], nil
}

// Ready pings Redis.
func (b *Broadcaster) Ready(ctx context.Context) error {
	select {
	case <-b.closing:
		return tracking.ErrClosed
	default:
	}
	return b.rdb.Ping(ctx).Err()
}

// Close flushes the queue (2s at most), ends every subscription and closes the
// connections. It is idempotent.
func (b *Broadcaster) Close() error {
	b.closeOnce.Do(func() {
		b.subMu.Lock()
		close(b.closing)
		b.subMu.Unlock()
		if b.ps != nil {
			_ = b.ps.Close() // unblocks the reader
		}
		b.shards.closeAll() // unblocks the cluster's readers
		b.wg.Wait()
		b.endAll()
		_ = b.rdb.Close()
	})
	return nil
}
