package redisbroadcast_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// TestClusterSlotMigration moves the slot of a watched team from its master
// to another one, keys and all, the way `redis-cli --cluster reshard` does
// (IMPORTING, MIGRATING, MIGRATE, SETSLOT NODE), while a worker publishes
// through one replica and a manager streams from the other. The stream goes
// on from the new master without a restart: the old master SUNSUBSCRIBEs
// the team's sharded channel when it gives the slot away, and the replica
// subscribes again where the slot now lives. The last known positions
// travel with the slot's keys.
func TestClusterSlotMigration(t *testing.T) {
	base := clusterConfig(t)
	ctx := t.Context()
	const team = "team_migrating"
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: base.ClusterAddrs})
	t.Cleanup(func() { _ = cc.Close() }) // after the migration back
	slot := int(cc.ClusterKeySlot(ctx, "{"+team+"}").Val())
	src, err := cc.MasterForKey(ctx, "{"+team+"}")
	if err != nil {
		t.Fatal(err)
	}
	var dst *redis.Client
	var masters []*redis.Client
	var mu sync.Mutex
	if err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		masters = append(masters, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(masters, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	for _, m := range masters {
		if m.Options().Addr != src.Options().Addr {
			dst = m
			break
		}
	}
	if dst == nil {
		t.Fatalf("no master besides %s among %d", src.Options().Addr, len(masters))
	}

	r := broadcasttest.Replicas(t, setupConfig(base, 0, 0), 2)
	c, _ := broadcasttest.Subscribe(t, ctx, r[1], team)
	broadcasttest.MustPublish(t, r[0], broadcasttest.Msg(team, "snap", 1))
	var seq atomic.Int64
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if err := r[0].Publish(ctx, broadcasttest.Msg(team, "w", int(seq.Add(1)))); err != nil {
				failed.Add(1)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	if !c.WaitFor(15*time.Second, func(m []tracking.Message) bool { return hasSeq(m, "w", 1) && hasSeq(m, "snap", 1) }) {
		t.Fatal("no streaming before the migration")
	}

	moved := time.Now()
	keys := migrateSlot(t, masters, slot, src, dst)
	t.Cleanup(func() { migrateSlot(t, masters, slot, dst, src) }) // the layout the other tests expect
	after := int(seq.Load()) + 1
	t.Logf("slot %d of %s moved from %s to %s with %d keys in %s", slot, team, src.Options().Addr, dst.Options().Addr,
		keys, time.Since(moved).Round(time.Millisecond))
	if !c.WaitFor(15*time.Second, func(m []tracking.Message) bool { return hasSeq(m, "w", after+5) }) {
		t.Fatalf("the stream did not go on within 15s of the migration (last seq published %d)", seq.Load())
	}
	t.Logf("stream resumed %s after the migration began; %d publishes failed meanwhile",
		time.Since(moved).Round(time.Millisecond), failed.Load())
	// What was published in the gap may come as the latest position only
	// (the catch-up from Last); from here on, every position.
	resumed := int(seq.Load()) + 1

	// The sharded channel is now subscribed on the new master only.
	testsupport.Eventually(t, 5*time.Second, "the team's sharded channel on the new master only", func() bool {
		onDst, err := dst.PubSubShardChannels(ctx, "*{"+team+"}*").Result()
		if err != nil {
			return false
		}
		onSrc, err := src.PubSubShardChannels(ctx, "*{"+team+"}*").Result()
		return err == nil && len(onDst) > 0 && len(onSrc) == 0
	})
	if got := broadcasttest.LastSeqs(t, r[1], team); got["snap"] != 1 || got["w"] < after {
		t.Errorf("Last(%s) after the migration = %v, want snap 1 and w >= %d", team, got, after)
	}
	// Every position published since the stream resumed reaches the manager, in order.
	last := int(seq.Load())
	if !c.WaitFor(10*time.Second, func(m []tracking.Message) bool { return hasSeq(m, "w", last) }) {
		t.Fatalf("position %d did not arrive", last)
	}
	var got []int
	for _, m := range c.Messages() {
		if w, s := broadcasttest.Seq(m); w == "w" && s >= resumed && s <= last {
			got = append(got, s)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("positions out of order after the migration: %d after %d", got[i], got[i-1])
		}
	}
	if want := last - resumed + 1; len(got) != want {
		t.Errorf("%d positions of seq %d..%d after the stream resumed, want %d", len(got), resumed, last, want)
	}
}

// migrateSlot moves slot from src to dst with its keys and tells every
// master, and returns how many keys moved.
func migrateSlot(t *testing.T, masters []*redis.Client, slot int, src, dst *redis.Client) int {
	t.Helper()
	ctx := context.Background()
	srcID, err := src.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	dstID, err := dst.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(dst.Options().Addr)
	if err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("migrate slot %d: %s: %v", slot, what, err)
		}
	}
	must("importing", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must("migrating", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	moved := 0
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, 100).Result()
		must("keys in slot", err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must("MIGRATE "+strconv.Itoa(len(keys))+" keys", src.Do(ctx, args...).Err())
		moved += len(keys)
	}
	// The new owner first, then the old one, then the others.
	must("node on "+dst.Options().Addr, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	must("node on "+src.Options().Addr, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	for _, m := range masters {
		if m != src && m != dst {
			must("node on "+m.Options().Addr, m.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
		}
	}
	return moved
}
