package service

import (
	"log/slog"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/sampling"
)

// Settings is what every tracking replica reads from the environment,
// whatever its strategy.
type Settings struct {
	Config        Config // HTTP_ADDR, SHUTDOWN_TIMEOUT, DEBUG_ADDR and the API's stream tuning
	ConsulAddr    string // CONSUL_HTTP_ADDR; empty: no Consul
	AdvertiseHost string // ADVERTISE_HOST; empty: see discovery.RegisterConfig.Address
	LogLevel      slog.Level
	Auth          auth.Settings
	History       HistorySettings
	Webhooks      WebhookSettings
	Push          PushSettings
}

// HistorySettings configure the durable position history.
type HistorySettings struct {
	DSN       string        // HISTORY_DSN; empty: no durable history
	Retention time.Duration // HISTORY_RETENTION
	Writer    history.WriterConfig
}

// ReadSettings reads the variables every replica shares (see the README's
// configuration table); HTTP_ADDR defaults to defAddr.
func ReadSettings(e *config.Env, defAddr string) Settings {
	// The defaults are New's and httpapi.New's, written there only.
	var d Config
	d.setDefaults()
	api := httpapi.Config{}.WithDefaults()
	smp := sampling.Config{}.WithDefaults()
	s := Settings{
		Config: Config{
			HTTPAddr:        e.String("HTTP_ADDR", defAddr),
			ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", d.ShutdownTimeout),
			DebugAddr:       e.String("DEBUG_ADDR", ""),
			OsmAndAddr:      e.String("OSMAND_ADDR", ""),
			ResumeLimit:     e.Int("RESUME_LIMIT", d.ResumeLimit),
			Sampling: &sampling.Config{
				Watched:   positiveDuration(e, "SAMPLING_WATCHED", smp.Watched),
				Unwatched: positiveDuration(e, "SAMPLING_UNWATCHED", smp.Unwatched),
				Grace:     positiveDuration(e, "SAMPLING_GRACE", smp.Grace),
			},
			API: httpapi.Config{
				Heartbeat:            e.Duration("STREAM_HEARTBEAT", api.Heartbeat),
				MaxLifetime:          e.Duration("STREAM_MAX_LIFETIME", api.MaxLifetime),
				FlushInterval:        e.Duration("STREAM_FLUSH_INTERVAL", api.FlushInterval),
				WriteTimeout:         e.Duration("STREAM_WRITE_TIMEOUT", api.WriteTimeout),
				QueueSoftLimit:       e.Int("STREAM_QUEUE_SOFT_LIMIT", api.QueueSoftLimit),
				QueueHardLimit:       e.Int("STREAM_QUEUE_HARD_LIMIT", api.QueueHardLimit),
				MaxRecordSize:        e.Int("MAX_RECORD_SIZE", api.MaxRecordSize),
				AllowedOrigins:       e.List("WS_ALLOWED_ORIGINS", api.AllowedOrigins...),
				RecordsPerSecond:     e.Float("RECORDS_PER_SECOND", api.RecordsPerSecond),
				RecordBurst:          e.Int("RECORD_BURST", api.RecordBurst),
				HardRejectsPerSecond: e.Int("HARD_REJECTS_PER_SECOND", api.HardRejectsPerSecond),
				PresenceIdleAfter:    e.Duration("PRESENCE_IDLE_AFTER", api.PresenceIdleAfter),
				PresenceOfflineAfter: e.Duration("PRESENCE_OFFLINE_AFTER", api.PresenceOfflineAfter),
				PresenceAlertSettle:  positiveDuration(e, "PRESENCE_ALERT_SETTLE", api.PresenceAlertSettle),
				DefinitionsPoll:      positiveDuration(e, "GEOFENCE_POLL_INTERVAL", api.DefinitionsPoll),
				DefaultAccuracy:      e.Float("GEOFENCE_DEFAULT_ACCURACY", api.DefaultAccuracy),
			},
		},
		ConsulAddr:    e.String("CONSUL_HTTP_ADDR", ""),
		AdvertiseHost: e.String("ADVERTISE_HOST", ""),
		LogLevel:      e.Level("LOG_LEVEL", slog.LevelInfo),
		Auth:          auth.ReadSettings(e, auth.DefaultMode),
		History:       readHistory(e),
		Webhooks:      readWebhooks(e),
		Push:          readPush(e),
	}
	if a := s.Config.API.DefaultAccuracy; !(a > 0 && a <= 10_000) { // NaN too
		e.Fail("GEOFENCE_DEFAULT_ACCURACY", "a number of metres above 0, at most 10000")
	}
	return s
}

func positiveDuration(e *config.Env, name string, def time.Duration) time.Duration {
	d := e.Duration(name, def)
	if d <= 0 {
		e.Fail(name, "a positive duration such as "+def.String())
	}
	return d
}

func readHistory(e *config.Env) HistorySettings {
	d := history.WriterDefaults()
	h := HistorySettings{
		DSN:       e.String("HISTORY_DSN", ""),
		Retention: e.Duration("HISTORY_RETENTION", 30*24*time.Hour),
		Writer: history.WriterConfig{
			Backlog: e.Int("HISTORY_BACKLOG", d.Backlog),
			Batch:   e.Int("HISTORY_BATCH", d.Batch),
			Linger:  e.Duration("HISTORY_LINGER", d.Linger),
		},
	}
	if h.Retention <= 0 {
		e.Fail("HISTORY_RETENTION", "a positive duration such as 720h")
	}
	if h.Writer.Backlog <= 0 {
		e.Fail("HISTORY_BACKLOG", "a positive number of records")
	}
	if h.Writer.Batch <= 0 {
		e.Fail("HISTORY_BATCH", "a positive number of records")
	}
	return h
}
