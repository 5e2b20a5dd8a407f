package service

import (
	"log/slog"
	"os"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/httpapi"
)

// Settings is what every tracking replica reads from the environment,
// whatever its strategy.
type Settings struct {
	Config        Config // HTTP_ADDR, SHUTDOWN_TIMEOUT, DEBUG_ADDR and the API's stream tuning
	ConsulAddr    string // CONSUL_HTTP_ADDR; empty: no Consul
	AdvertiseHost string // ADVERTISE_HOST; empty: see discovery.RegisterConfig.Address
	LogLevel      slog.Level
	Auth          auth.Settings
}

// ReadSettings reads the variables every replica shares (see the README's
// configuration table); HTTP_ADDR defaults to defAddr.
func ReadSettings(e *config.Env, defAddr string) Settings {
	return Settings{
		Config: Config{
			HTTPAddr:        e.String("HTTP_ADDR", defAddr),
			ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
			DebugAddr:       e.String("DEBUG_ADDR", ""),
			API: httpapi.Config{
				Heartbeat:            e.Duration("STREAM_HEARTBEAT", 15*time.Second),
				MaxLifetime:          e.Duration("STREAM_MAX_LIFETIME", 15*time.Minute),
				FlushInterval:        e.Duration("STREAM_FLUSH_INTERVAL", 50*time.Millisecond),
				WriteTimeout:         e.Duration("STREAM_WRITE_TIMEOUT", 10*time.Second),
				QueueSoftLimit:       e.Int("STREAM_QUEUE_SOFT_LIMIT", 1024),
				QueueHardLimit:       e.Int("STREAM_QUEUE_HARD_LIMIT", 20000),
				MaxRecordSize:        e.Int("MAX_RECORD_SIZE", 64<<10),
				AllowedOrigins:       e.List("WS_ALLOWED_ORIGINS", "*"),
				RecordsPerSecond:     e.Float("RECORDS_PER_SECOND", 50),
				RecordBurst:          e.Int("RECORD_BURST", 100),
				HardRejectsPerSecond: e.Int("HARD_REJECTS_PER_SECOND", 1000),
			},
		},
		ConsulAddr:    e.String("CONSUL_HTTP_ADDR", ""),
		AdvertiseHost: e.String("ADVERTISE_HOST", ""),
		LogLevel:      e.Level("LOG_LEVEL", slog.LevelInfo),
		Auth:          auth.ReadSettings(e, auth.DefaultMode),
	}
}

// NewLogger returns a JSON logger on stderr at level.
func NewLogger(level slog.Level, service string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", service)
}
