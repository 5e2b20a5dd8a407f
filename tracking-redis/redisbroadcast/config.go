package redisbroadcast

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config of a Redis Broadcaster.
type Config struct {
	// Addr of the Redis server. Default "localhost:6379".
	Addr string
	// Password for AUTH. Default none.
	Password string
	// DB number. Default 0.
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
	if c.Addr == "" {
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
	case c.StaleAfter < time.Second:
		return fmt.Errorf("redis config: StaleAfter %s is shorter than 1s", c.StaleAfter)
	case c.ResumeWindow < 100*time.Millisecond:
		return fmt.Errorf("redis config: ResumeWindow %s is shorter than 100ms", c.ResumeWindow)
	case c.QueueSize < 1 || c.MaxBatch < 1 || c.Senders < 1 || c.ResumeMaxEntries < 1 || c.MailQueueSize < 1:
		return fmt.Errorf("redis config: QueueSize, MaxBatch, Senders, ResumeMaxEntries and MailQueueSize must be positive")
	}
	return nil
}
