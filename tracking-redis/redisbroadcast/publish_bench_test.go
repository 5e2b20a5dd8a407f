package redisbroadcast

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// BenchmarkPublishPipeline sends what one sender sends in shape a
// (PERFORMANCE.md): pipelines of 100 teams of 8 positions each, every
// position a different worker of its team, through the publish script, and
// reports what redis-server spent a position (redis-µs/pos, from INFO's
// used_cpu_user and used_cpu_sys) beside this process's time a pipeline.
// Needs TEST_REDIS_ADDR (a redis-server of its own: the figure is the
// server's whole CPU); skipped without it.
func BenchmarkPublishPipeline(b *testing.B) {
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		b.Skip("TEST_REDIS_ADDR is not set (scripts/test-services.sh up redis)")
	}
	for _, perTeam := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("teams=100/positions=%d", perTeam), func(b *testing.B) {
			benchPublish(b, addr, 100, perTeam)
		})
	}
}

func benchPublish(b *testing.B, addr string, teams, perTeam int) {
	prefix := fmt.Sprintf("B%d_", time.Now().UnixNano())
	br, err := New(Config{Addr: addr, ChannelPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctl := redis.NewClient(&redis.Options{Addr: addr})
	defer ctl.Close()
	defer func() { // the keys this run made
		ctx := context.Background()
		iter := ctl.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			ctl.Del(ctx, iter.Val())
		}
	}()
	p := newPipeliner(br)
	now := time.Now().UnixNano()
	batch := make([]tracking.Message, 0, teams*perTeam)
	round := func(r int) []tracking.Message {
		batch = batch[:0]
		for t := range teams {
			team := "team" + strconv.Itoa(t)
			for w := range perTeam {
				m := tracking.Message{Team: team, Worker: fmt.Sprintf("w%d-%d", t, (r*perTeam+w)%10), Time: now + int64(r)*1e6, Received: now}
				acc, speed, heading := 5.0, 1.4, 90.0
				m.JSON = wire.AppendPosition(nil, &tracking.Position{ID: m.Worker + "-" + strconv.Itoa(r), WorkerID: m.Worker, Team: team,
					Location: tracking.Location{Latitude: 48.8566, Longitude: 2.3522}, TimeStamp: time.Unix(0, m.Time), Accuracy: &acc, Speed: &speed, Heading: &heading})
				batch = append(batch, m)
			}
		}
		return batch
	}
	p.send(round(0)) // the script loaded, the keys made
	before := redisCPU(b, ctl)
	b.ResetTimer()
	for i := range b.N {
		p.send(round(i + 1))
	}
	b.StopTimer()
	spent := redisCPU(b, ctl) - before
	b.ReportMetric(spent.Seconds()*1e6/float64(b.N*teams*perTeam), "redis-µs/pos")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*teams*perTeam), "ns/pos")
}

// redisCPU is redis-server's CPU time so far (user and system).
func redisCPU(b *testing.B, c *redis.Client) time.Duration {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu %s: %v", k, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
