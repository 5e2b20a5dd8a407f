package redisbroadcast

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
)

func testPipeliner(t *testing.T) (*Broadcaster, *pipeliner, *redis.Client) {
	addr := testsupport.Env(t, "TEST_REDIS_ADDR", "start redis with scripts/test-services.sh up redis and source its env file")
	b, err := New(Config{Addr: addr, ChannelPrefix: fmt.Sprintf("P%d_", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return b, newPipeliner(b), c
}

func position(team, worker string, fix time.Time) tracking.Message {
	m := tracking.Message{Team: team, Worker: worker, Time: fix.UnixNano(), Received: fix.UnixNano()}
	m.JSON = wire.AppendPosition(nil, &tracking.Position{ID: worker + "-" + strconv.FormatInt(fix.UnixMilli(), 10), WorkerID: worker, Team: team,
		Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: fix})
	return m
}

// One team's batch with more workers than the script reads at once, each
// with its newer fix before an older one: every worker's newest is kept, and
// a batch older than what is stored changes nothing.
func TestPipelineKeepsEachWorkersNewest(t *testing.T) {
	b, p, c := testPipeliner(t)
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond)
	var batch []tracking.Message
	const workers = 1000
	for w := range workers {
		worker := "w" + strconv.Itoa(w)
		batch = append(batch, position("t", worker, base.Add(time.Second)), position("t", worker, base))
	}
	p.send(batch)
	last, err := b.Last(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != workers {
		t.Fatalf("%d last positions, want %d", len(last), workers)
	}
	for _, m := range last {
		if m.Time != base.Add(time.Second).UnixNano() {
			t.Fatalf("%s: kept the fix of %s, want the newer", m.Worker, time.Unix(0, m.Time))
		}
	}
	// Older than what is stored: the stream has it, the last positions not.
	p.send([]tracking.Message{position("t", "w1", base.Add(-time.Hour))})
	if last, err = b.Last(ctx, "t"); err != nil || len(last) != workers {
		t.Fatalf("%d, %v", len(last), err)
	}
	for _, m := range last {
		if m.Worker == "w1" && m.Time != base.Add(time.Second).UnixNano() {
			t.Fatalf("an older fix replaced the newest: %s", time.Unix(0, m.Time))
		}
	}
	if n := c.XLen(ctx, b.streamKey("t")).Val(); n != 2 {
		t.Fatalf("stream of %d entries, want 2 (one a batch)", n)
	}
}

// Expiries are renewed every refreshEvery only, but no key is ever left
// without one: a hash or stream made anew between refreshes gets its own.
func TestPipelineKeysAlwaysExpire(t *testing.T) {
	b, p, c := testPipeliner(t)
	ctx := context.Background()
	keys := []string{b.lastKey("t"), b.streamKey("t"), b.metaKey("t")}
	expiring := func(when string) {
		t.Helper()
		for _, k := range keys {
			if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 {
				t.Fatalf("%s: %s has no expiry (PTTL %v)", when, k, ttl)
			}
		}
	}
	now := time.Now()
	p.send([]tracking.Message{position("t", "w1", now)})
	expiring("first publish")
	if b.refreshEvery() < 100*time.Millisecond {
		t.Fatalf("refreshEvery %v: the publishes below would all refresh", b.refreshEvery())
	}
	// Within refreshEvery of the first: no refresh asked for, yet the
	// keys that went away (expired, as Redis would) come back expiring.
	if err := c.Del(ctx, b.lastKey("t")).Err(); err != nil {
		t.Fatal(err)
	}
	p.send([]tracking.Message{position("t", "w1", now.Add(time.Millisecond))})
	expiring("the last positions made anew")
	epoch := c.HGet(ctx, b.metaKey("t"), "epoch").Val()
	if err := c.Del(ctx, b.streamKey("t")).Err(); err != nil {
		t.Fatal(err)
	}
	p.send([]tracking.Message{position("t", "w1", now.Add(2*time.Millisecond))})
	expiring("the stream made anew")
	if e := c.HGet(ctx, b.metaKey("t"), "epoch").Val(); e == epoch {
		t.Fatalf("the stream went away and the epoch %s stayed", e)
	}
}
