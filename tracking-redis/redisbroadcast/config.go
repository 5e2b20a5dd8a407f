package redisbroadcast

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config of a Redis Broadcaster.
type Config struct {
	// The topology is one of three: a single server (Addr), a master
	// watched by Sentinels (SentinelAddrs, MasterName), or a Redis Cluster
	// (ClusterAddrs). Setting more than one is an error.

	// Addr of the single Redis server. Default "localhost:6379" when
	// neither SentinelAddrs nor ClusterAddrs is set.
	Addr string
	// SentinelAddrs are the Sentinels watching the master MasterName: the
	// client asks them for the master and follows a failover by itself.
	SentinelAddrs []string
	// MasterName is the name the Sentinels know the master by; required
	// with SentinelAddrs.
	MasterName string
	// SentinelPassword is the Sentinels' AUTH password (Password is the
	// master's). Default none.
	SentinelPassword string
	// ClusterAddrs are seed nodes of a Redis Cluster. Team channels are then
	// sharded (SSUBSCRIBE/SPUBLISH) and a team's keys and channels are
	// hash-tagged with the team ({team}), so a team's traffic touches one
	// shard.
	ClusterAddrs []string
	// Password for AUTH. Default none.
	Password string
	// DB number. Default 0. Must be 0 in a cluster.
	DB int
	// ChannelPrefix prefixes team channels and last-position keys. Default "TRACKING_".
	ChannelPrefix string
	// StaleAfter is how long a worker's last position is kept. Default 10m.
	StaleAfter time.Duration
	// ResumeWindow is how long a team's positions are kept in its Redis
	// stream for resuming manager streams (Since). Default 15m.
	ResumeWindow time.Duration
	// ResumeMaxEntries bounds a team's stream besides the window: resuming
	// more positions than the hub's resume limit resets anyway, and every
	// entry holds at least one position, so keeping that many entries keeps
	// every resumable position and bounds Redis memory for busy teams.
	// Default 10,000 (the hub's default RESUME_LIMIT).
	ResumeMaxEntries int
	// QueueSize bounds the positions waiting to be sent. Default 16384.
	QueueSize int
	// MaxBatch bounds the positions sent in one pipeline. Default 4096: the
	// longer Redis takes to answer, the more the next pipeline carries.
	MaxBatch int
	// Linger is how long a sender waits after the first queued position for
	// more to join its pipeline. Default 2ms; negative: no wait.
	Linger time.Duration
	// Senders is the number of pipelines in flight at once; each team is sent
	// by one of them. Default 2.
	Senders int
	// MailQueueSize bounds the mail (tracking.Mailbox) waiting to be sent:
	// Post answers ErrOverloaded beyond it. Default 1024 payloads, at most
	// 64 MiB.
	MailQueueSize int
	// Logger receives the broadcaster's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives its metrics. Default: none.
	Registerer prometheus.Registerer
}

// WithDefaults returns c with the defaults New fills in, so that a reader of
// settings (cmd/tracking-redis) offers them without writing them again.
func (c Config) WithDefaults() Config { _ = c.setDefaults(); return c }

func (c *Config) setDefaults() error {
	if c.Addr == "" && len(c.SentinelAddrs) == 0 && len(c.ClusterAddrs) == 0 {
		c.Addr = "localhost:6379"
	}
	if c.ChannelPrefix == "" {
		c.ChannelPrefix = "TRACKING_"
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 10 * time.Minute
	}
	if c.ResumeWindow == 0 {
		c.ResumeWindow = 15 * time.Minute
	}
	if c.ResumeMaxEntries == 0 {
		c.ResumeMaxEntries = 10_000
	}
	if c.QueueSize == 0 {
		c.QueueSize = 16384
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 4096
	}
	if c.Linger == 0 {
		c.Linger = 2 * time.Millisecond
	}
	if c.Senders == 0 {
		c.Senders = 2
	}
	if c.MailQueueSize == 0 {
		c.MailQueueSize = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Addr != "" && len(c.SentinelAddrs) > 0:
		return fmt.Errorf("redis config: REDIS_ADDR (Addr) and REDIS_SENTINEL_ADDRS (SentinelAddrs) are both set: choose one topology")
	case c.Addr != "" && len(c.ClusterAddrs) > 0:
		return fmt.Errorf("redis config: REDIS_ADDR (Addr) and REDIS_CLUSTER_ADDRS (ClusterAddrs) are both set: choose one topology")
	case len(c.SentinelAddrs) > 0 && len(c.ClusterAddrs) > 0:
		return fmt.Errorf("redis config: REDIS_SENTINEL_ADDRS (SentinelAddrs) and REDIS_CLUSTER_ADDRS (ClusterAddrs) are both set: choose one topology")
	case len(c.SentinelAddrs) > 0 && c.MasterName == "":
		return fmt.Errorf("redis config: REDIS_SENTINEL_ADDRS (SentinelAddrs) needs REDIS_MASTER_NAME (MasterName)")
	case c.MasterName != "" && len(c.SentinelAddrs) == 0:
		return fmt.Errorf("redis config: REDIS_MASTER_NAME (MasterName) is set without REDIS_SENTINEL_ADDRS (SentinelAddrs)")
	case c.SentinelPassword != "" && len(c.SentinelAddrs) == 0:
		return fmt.Errorf("redis config: REDIS_SENTINEL_PASSWORD (SentinelPassword) is set without REDIS_SENTINEL_ADDRS (SentinelAddrs)")
	case len(c.ClusterAddrs) > 0 && c.DB != 0:
		return fmt.Errorf("redis config: REDIS_DB (DB) must be 0 with REDIS_CLUSTER_ADDRS (ClusterAddrs): a cluster has one database")
	case len(c.ClusterAddrs) > 0 && strings.ContainsAny(c.ChannelPrefix, "{}"):
		return fmt.Errorf("redis config: REDIS_CHANNEL_PREFIX (ChannelPrefix) %q holds a brace: in a cluster the team is the hash tag", c.ChannelPrefix)
	case c.StaleAfter < time.Second:
		return fmt.Errorf("redis config: StaleAfter %s is shorter than 1s", c.StaleAfter)
	case c.ResumeWindow < 100*time.Millisecond:
		return fmt.Errorf("redis config: ResumeWindow %s is shorter than 100ms", c.ResumeWindow)
	case c.QueueSize < 1 || c.MaxBatch < 1 || c.Senders < 1 || c.ResumeMaxEntries < 1 || c.MailQueueSize < 1:
		return fmt.Errorf("redis config: QueueSize, MaxBatch, Senders, ResumeMaxEntries and MailQueueSize must be positive")
	}
	return nil
}

// Topology names the Redis topology of c: "single", "sentinel" or "cluster".
func (c Config) Topology() string {
	switch {
	case len(c.ClusterAddrs) > 0:
		return "cluster"
	case len(c.SentinelAddrs) > 0:
		return "sentinel"
	}
	return "single"
}

// newClient makes the go-redis client of c's topology.
func (c *Config) newClient() redis.UniversalClient {
	const (
		dial, read, write = 2 * time.Second, 3 * time.Second, 3 * time.Second
		minBackoff        = 50 * time.Millisecond
		maxBackoff        = 500 * time.Millisecond
	)
	switch c.Topology() {
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:        c.ClusterAddrs,
			Password:     c.Password,
			DialTimeout:  dial,
			ReadTimeout:  read,
			WriteTimeout: write,
			MaxRetries:   1,
			MaxRedirects: 8,
			// go-redis reloads the slot map on MOVED, not when a dead
			// master refuses connections; the Broadcaster asks for a
			// reload on such errors, this is the backstop (default 60s).
			ClusterStateReloadInterval: 5 * time.Second,
			MinRetryBackoff:            minBackoff,
			MaxRetryBackoff:            maxBackoff,
			PoolSize:                   8, // per node
			DisableIdentity:            true,
		})
	case "sentinel":
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       c.MasterName,
			SentinelAddrs:    c.SentinelAddrs,
			SentinelPassword: c.SentinelPassword,
			Password:         c.Password,
			DB:               c.DB,
			DialTimeout:      dial,
			ReadTimeout:      read,
			WriteTimeout:     write,
			MaxRetries:       1,
			MinRetryBackoff:  minBackoff,
			MaxRetryBackoff:  maxBackoff,
			PoolSize:         8,
			DisableIdentity:  true,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr:            c.Addr,
		Password:        c.Password,
		DB:              c.DB,
		DialTimeout:     dial,
		ReadTimeout:     read,
		WriteTimeout:    write,
		MaxRetries:      1,
		MinRetryBackoff: minBackoff,
		MaxRetryBackoff: maxBackoff,
		PoolSize:        8,
		DisableIdentity: true, // CLIENT SETINFO is noise in older servers' logs
	})
}
