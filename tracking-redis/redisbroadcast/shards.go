package redisbroadcast

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
)

// In a Redis Cluster, a team's channel and its mail channels are sharded
// channels (SSUBSCRIBE/SPUBLISH) hash-tagged with the team, so they live on
// the shard owning the team's slot, and a replica's intake is only the
// shards of the teams it watches. SSUBSCRIBE takes channels of one slot, and
// go-redis routes a PubSub by its first channel, so a replica keeps one
// pub/sub connection, and one reader, per watched team: a shardGroup, made
// at the team's first channel and closed with its last.
//
// A group follows its slot by itself: when the connection breaks (the
// master failed), when Redis answers an error (a stale slot map sent it to a
// node that no longer owns the slot), or when Redis SUNSUBSCRIBEs a channel
// the group still wants (the slot migrated, or the master was demoted), the
// reader reloads the cluster's slot map and subscribes every channel of the
// group anew on a new connection, which goes to the slot's master of the
// moment.

type shardGroups struct {
	mu     sync.Mutex
	groups map[string]*shardGroup // by hash tag, "{team}"
	closed bool
}

type shardGroup struct {
	b   *Broadcaster
	tag string

	mu     sync.Mutex // guards what follows; held while (re)subscribing
	ps     *redis.PubSub
	chans  map[string]struct{} // the channels wanted
	closed bool
}

// hashTag is the "{team}" of a cluster channel.
func hashTag(ch string) string {
	i := strings.IndexByte(ch, '{')
	if i < 0 {
		return ch
	}
	j := strings.IndexByte(ch[i:], '}')
	if j < 0 {
		return ch
	}
	return ch[i : i+j+1]
}

// subscribe SSUBSCRIBEs ch on its team's group, making the group if needed.
// The reader confirms it (Broadcaster.confirm).
func (gs *shardGroups) subscribe(ctx context.Context, b *Broadcaster, ch string) error {
	tag := hashTag(ch)
	for {
		gs.mu.Lock()
		if gs.closed {
			gs.mu.Unlock()
			return tracking.ErrClosed
		}
		g := gs.groups[tag]
		if g == nil {
			g = &shardGroup{b: b, tag: tag, chans: make(map[string]struct{})}
			gs.groups[tag] = g
		}
		gs.mu.Unlock()

		g.mu.Lock()
		if g.closed { // emptied meanwhile: make another
			g.mu.Unlock()
			gs.forget(g)
			continue
		}
		g.chans[ch] = struct{}{}
		if g.ps != nil {
			err := g.ps.SSubscribe(ctx, ch)
			g.mu.Unlock()
			return err
		}
		// The first channel routes the new connection to the slot's master.
		g.ps = b.cluster.SSubscribe(ctx)
		err := g.ps.SSubscribe(ctx, ch)
		// The caller holds a count of b.wg: Add cannot race with Close's Wait.
		b.wg.Add(1)
		go g.read()
		g.mu.Unlock()
		return err
	}
}

// unsubscribe SUNSUBSCRIBEs ch, closing its group with its last channel.
func (gs *shardGroups) unsubscribe(ctx context.Context, ch string) error {
	gs.mu.Lock()
	g := gs.groups[hashTag(ch)]
	gs.mu.Unlock()
	if g == nil {
		return nil
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	delete(g.chans, ch)
	if len(g.chans) > 0 {
		err := g.ps.SUnsubscribe(ctx, ch)
		g.mu.Unlock()
		return err
	}
	g.closed = true
	ps := g.ps
	g.mu.Unlock()
	gs.forget(g)
	if ps != nil {
		_ = ps.Close() // the reader ends
	}
	return nil
}

func (gs *shardGroups) forget(g *shardGroup) {
	gs.mu.Lock()
	if gs.groups[g.tag] == g {
		delete(gs.groups, g.tag)
	}
	gs.mu.Unlock()
}

// closeAll closes every group (Close, after b.closing is closed).
func (gs *shardGroups) closeAll() {
	gs.mu.Lock()
	gs.closed = true
	all := slices.Collect(maps.Values(gs.groups))
	clear(gs.groups)
	gs.mu.Unlock()
	for _, g := range all {
		g.mu.Lock()
		g.closed = true
		if g.ps != nil {
			_ = g.ps.Close()
		}
		g.mu.Unlock()
	}
}

// current is the group's connection, nil once it is closed.
func (g *shardGroup) current() *redis.PubSub {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	return g.ps
}

func (g *shardGroup) wants(ch string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.chans[ch]
	return ok && !g.closed
}

// read receives on the group's connection until the group is closed.
func (g *shardGroup) read() {
	b := g.b
	defer b.wg.Done()
	ctx := context.Background()
	var msgs []tracking.Message
	backoff := 50 * time.Millisecond
	for {
		ps := g.current()
		if ps == nil {
			return
		}
		v, err := ps.ReceiveTimeout(ctx, 30*time.Second)
		if err != nil {
			if g.current() != ps {
				continue // closed or replaced
			}
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				_ = ps.Ping(ctx) // an idle connection: check it is alive
				continue
			}
			b.log.Warn("redis sharded pub/sub receive", "team", g.tag, "err", err, "retry_in", backoff.String())
			select {
			case <-time.After(backoff):
			case <-b.closing:
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			g.renew(ps)
			continue
		}
		backoff = 50 * time.Millisecond
		if s, ok := v.(*redis.Subscription); ok && s.Kind == "sunsubscribe" && g.wants(s.Channel) {
			// Not asked for: the slot moved away from that node.
			b.log.Info("redis unsubscribed a team's sharded channel: following its slot", "channel", s.Channel)
			g.renew(ps)
			continue
		}
		msgs = b.handle(v, msgs)
	}
}

// renew replaces the group's connection old by a new one subscribing every
// channel of the group, after reloading the slot map.
func (g *shardGroup) renew(old *redis.PubSub) {
	b := g.b
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	b.cluster.ReloadState(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.ps != old {
		return
	}
	_ = old.Close()
	g.ps = b.cluster.SSubscribe(ctx)
	if err := g.ps.SSubscribe(ctx, slices.Collect(maps.Keys(g.chans))...); err != nil {
		// go-redis keeps the channels and subscribes them again at the next receive.
		b.log.Debug("resubscribe sharded channels", "team", g.tag, "err", err)
	}
}

// reloadSlots asks go-redis to reload the cluster's slot map (in the
// background), after a command failed: go-redis does so by itself on MOVED
// and ASK, not when the master of a slot is gone and its replica promoted.
func (b *Broadcaster) reloadSlots() {
	if b.cluster != nil {
		b.cluster.ReloadState(context.Background())
	}
}
