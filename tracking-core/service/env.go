package service

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// Env reads configuration from environment variables, collecting every error
// so that a misconfigured process reports them all at once.
type Env struct {
	Lookup func(string) (string, bool) // default os.LookupEnv
	errs   []string
}

func (e *Env) lookup(name string) (string, bool) {
	if e.Lookup == nil {
		e.Lookup = os.LookupEnv
	}
	v, ok := e.Lookup(name)
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

// String returns the variable or def.
func (e *Env) String(name, def string) string {
	if v, ok := e.lookup(name); ok {
		return v
	}
	return def
}

// List returns the comma-separated variable or def.
func (e *Env) List(name string, def []string) []string {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Int returns the variable or def.
func (e *Env) Int(name string, def int) int {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not an integer", name, v))
		return def
	}
	return n
}

// Duration returns the variable (a Go duration such as 500ms, or a number of
// milliseconds) or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a duration (e.g. 500ms, 15s)", name, v))
		return def
	}
	return d
}

// Level returns the slog level in the variable (debug, info, warn, error).
func (e *Env) Level(name string) slog.Level {
	v, _ := e.lookup(name)
	var l slog.Level
	if v == "" {
		return slog.LevelInfo
	}
	if err := l.UnmarshalText([]byte(v)); err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a log level (debug, info, warn, error)", name, v))
		return slog.LevelInfo
	}
	return l
}

// Err returns every problem found so far, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(e.errs, "; "))
}

// NewLogger returns a JSON logger on stderr at level.
func NewLogger(level slog.Level, service string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", service)
}

// ServiceFromEnv reads what every tracking replica shares: HTTP_ADDR (default
// defAddr), SHUTDOWN_TIMEOUT, and the stream tuning of httpapi.Config
// (STREAM_HEARTBEAT, STREAM_MAX_LIFETIME, STREAM_FLUSH_INTERVAL,
// STREAM_WRITE_TIMEOUT, STREAM_QUEUE_SOFT_LIMIT, STREAM_QUEUE_HARD_LIMIT,
// MAX_RECORD_SIZE, WS_ALLOWED_ORIGINS).
func ServiceFromEnv(e *Env, defAddr string) Config {
	return Config{
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
			AllowedOrigins:       e.List("WS_ALLOWED_ORIGINS", []string{"*"}),
			RecordsPerSecond:     float64(e.Int("RECORDS_PER_SECOND", 50)),
			RecordBurst:          e.Int("RECORD_BURST", 100),
			HardRejectsPerSecond: e.Int("HARD_REJECTS_PER_SECOND", 1000),
		},
	}
}
