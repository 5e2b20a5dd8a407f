package redisbroadcast_test

import (
	"strings"
	"testing"

	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

// One topology at a time, each with what it needs; the error names the
// variables.
func TestConfigTopology(t *testing.T) {
	for _, c := range []struct {
		cfg  redisbroadcast.Config
		want string // "" for single/sentinel/cluster: the topology; else part of the error
		top  string
	}{
		{cfg: redisbroadcast.Config{}, top: "single"},
		{cfg: redisbroadcast.Config{Addr: "r:6379"}, top: "single"},
		{cfg: redisbroadcast.Config{SentinelAddrs: []string{"s:26379"}, MasterName: "m"}, top: "sentinel"},
		{cfg: redisbroadcast.Config{ClusterAddrs: []string{"c:6379"}}, top: "cluster"},
		{cfg: redisbroadcast.Config{Addr: "r:6379", SentinelAddrs: []string{"s:26379"}, MasterName: "m"}, want: "REDIS_ADDR (Addr) and REDIS_SENTINEL_ADDRS"},
		{cfg: redisbroadcast.Config{Addr: "r:6379", ClusterAddrs: []string{"c:6379"}}, want: "REDIS_ADDR (Addr) and REDIS_CLUSTER_ADDRS"},
		{cfg: redisbroadcast.Config{SentinelAddrs: []string{"s:26379"}, MasterName: "m", ClusterAddrs: []string{"c:6379"}}, want: "REDIS_SENTINEL_ADDRS (SentinelAddrs) and REDIS_CLUSTER_ADDRS"},
		{cfg: redisbroadcast.Config{SentinelAddrs: []string{"s:26379"}}, want: "needs REDIS_MASTER_NAME"},
		{cfg: redisbroadcast.Config{MasterName: "m"}, want: "REDIS_MASTER_NAME (MasterName) is set without"},
		{cfg: redisbroadcast.Config{SentinelPassword: "x"}, want: "REDIS_SENTINEL_PASSWORD"},
		{cfg: redisbroadcast.Config{ClusterAddrs: []string{"c:6379"}, DB: 1}, want: "REDIS_DB"},
		{cfg: redisbroadcast.Config{ClusterAddrs: []string{"c:6379"}, ChannelPrefix: "T{x}_"}, want: "brace"},
	} {
		b, err := redisbroadcast.New(c.cfg)
		if c.want == "" {
			if err != nil {
				t.Errorf("New(%+v): %v", c.cfg, err)
				continue
			}
			_ = b.Close()
			if got := c.cfg.WithDefaults().Topology(); got != c.top {
				t.Errorf("Topology of %+v = %s, want %s", c.cfg, got, c.top)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			if b != nil {
				_ = b.Close()
			}
			t.Errorf("New(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}
