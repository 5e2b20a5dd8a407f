package main

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	simulator "github.com/teamtrack/team-simulator"
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// common holds the settings both modes share; each flag mirrors an environment
// variable, which gives its default.
type common struct {
	host, port           string
	redisPath, kafkaPath string
	transport            string
	centre               centreValue
	radius               float64
	minSpeed, maxSpeed   float64
	seed                 seedValue
	ramp                 time.Duration
	statusInterval       time.Duration
	logLevel             string
	cpuProfile           string

	// Credentials: the flags, else the variables (read apart, so that -h
	// does not print a secret as a flag's default).
	authSecret, authToken       string
	envAuthSecret, envAuthToken string
	authMode                    auth.Mode // AUTH_MODE when set, else ""
}

func (c *common) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&c.host, "host", e.str("HOST", "localhost"), "tracking gateway host (HOST)")
	fs.StringVar(&c.port, "port", e.str("PORT", "8080"), "tracking gateway port (PORT)")
	fs.StringVar(&c.redisPath, "redis-path", e.str("REDIS_PATH", "/tracking/redis/"), "path of the Redis strategy's API (REDIS_PATH)")
	fs.StringVar(&c.kafkaPath, "kafka-path", e.str("KAFKA_PATH", "/tracking/kafka/"), "path of the Kafka strategy's API (KAFKA_PATH)")
	fs.StringVar(&c.transport, "transport", e.str("TRANSPORT", "ws"), "worker transport: ws or ndjson (TRANSPORT)")
	c.centre.loc = simulator.SaoPaulo
	if v, ok := e.lookup("CENTRE"); ok {
		if err := c.centre.Set(v); err != nil {
			e.fail("CENTRE", v, "lat,lon")
		}
	}
	fs.Var(&c.centre, "centre", "city centre the workers move around, lat,lon (CENTRE)")
	fs.Float64Var(&c.radius, "radius", e.float("RADIUS", 3000), "radius of the area workers move in, metres (RADIUS)")
	fs.Float64Var(&c.minSpeed, "min-speed", e.float("MIN_SPEED", 1), "slowest travel speed, m/s (MIN_SPEED)")
	fs.Float64Var(&c.maxSpeed, "max-speed", e.float("MAX_SPEED", 15), "fastest travel speed, m/s (MAX_SPEED)")
	if v, ok := e.lookup("SEED"); ok {
		if err := c.seed.Set(v); err != nil {
			e.fail("SEED", v, "a whole number >= 0")
		}
	}
	fs.Var(&c.seed, "seed", "seed of the movement model; the same seed replays the same paths (SEED; default random, logged)")
	fs.DurationVar(&c.ramp, "ramp", e.duration("RAMP", 0), "spread the workers' first connects over this long; default 1ms per worker, at least 1s (2s in load mode) (RAMP)")
	fs.DurationVar(&c.statusInterval, "status-interval", e.duration("STATUS_INTERVAL", 0),
		"status update interval; default 1s on a terminal, 10s in logs; negative: off (STATUS_INTERVAL)")
	fs.StringVar(&c.logLevel, "log-level", e.str("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the simulator to this file")

	c.envAuthSecret = e.str("AUTH_JWT_SECRET", "")
	c.envAuthToken = e.str("AUTH_TOKEN", "")
	fs.StringVar(&c.authSecret, "auth-secret", "",
		"HS256 secret (>= 32 bytes) to sign a token per worker and manager with: the services' secret (AUTH_JWT_SECRET; prefer the variable, a flag shows in ps)")
	fs.StringVar(&c.authToken, "auth-token", "", "one token for every connection, when no secret is given (AUTH_TOKEN)")
	if v, ok := e.lookup("AUTH_MODE"); ok {
		m, err := auth.ParseMode(v)
		if err != nil {
			e.fail("AUTH_MODE", v, "jwt, dev or none")
		}
		c.authMode = m
	}
}

// auth returns what the connections present: a token signed per worker and
// manager with the secret (-auth-secret, else AUTH_JWT_SECRET), else the one
// token (-auth-token, else AUTH_TOKEN), else nothing.
func (c *common) auth() (simulator.Auth, error) {
	secret := cmp.Or(c.authSecret, c.envAuthSecret)
	if secret != "" {
		if len(secret) < auth.MinSecretLen {
			return simulator.Auth{}, fmt.Errorf("AUTH_JWT_SECRET (-auth-secret): %d bytes, want at least %d (the services' HS256 secret)", len(secret), auth.MinSecretLen)
		}
		return simulator.Auth{Secret: []byte(secret)}, nil
	}
	return simulator.Auth{Token: cmp.Or(c.authToken, c.envAuthToken)}, nil
}

// authWarning says, when AUTH_MODE asks for tokens and none is configured,
// that the services will refuse the simulator; else "".
func (c *common) authWarning(a simulator.Auth) string {
	if c.authMode == "" || c.authMode == auth.ModeNone || len(a.Secret) > 0 || a.Token != "" {
		return ""
	}
	return fmt.Sprintf("AUTH_MODE=%s, but neither AUTH_JWT_SECRET nor AUTH_TOKEN is set: the tracking services will refuse the simulator's connections", c.authMode)
}

// strategyURL is the base URL of a strategy's API through the gateway.
func (c *common) strategyURL(strategy string) (string, error) {
	var path string
	switch strategy {
	case "redis":
		path = c.redisPath
	case "kafka":
		path = c.kafkaPath
	default:
		return "", fmt.Errorf("unknown strategy %q (want redis or kafka)", strategy)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return "http://" + net.JoinHostPort(c.host, c.port) + path, nil
}

func (c *common) movement() simulator.Movement {
	centre := c.centre.loc
	return simulator.Movement{Centre: &centre, Radius: c.radius, MinSpeed: c.minSpeed, MaxSpeed: c.maxSpeed}
}

func (c *common) logLevelValue() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.logLevel)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", c.logLevel)
	}
	return l, nil
}

// seedOrRandom returns the seed given, or draws one.
func (c *common) seedOrRandom() uint64 {
	if c.seed.set {
		return c.seed.v
	}
	return rand.Uint64()
}

// centreValue is a "lat,lon" flag.
type centreValue struct{ loc tracking.Location }

func (c *centreValue) String() string {
	return strconv.FormatFloat(c.loc.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(c.loc.Longitude, 'f', -1, 64)
}

func (c *centreValue) Set(s string) error {
	lat, lon, ok := strings.Cut(s, ",")
	if !ok {
		return fmt.Errorf("want lat,lon")
	}
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	if err1 != nil || err2 != nil || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return fmt.Errorf("want lat,lon with lat in [-90, 90] and lon in [-180, 180]")
	}
	c.loc = tracking.Location{Latitude: la, Longitude: lo}
	return nil
}

// seedValue is a uint64 flag that knows whether it was given: every value,
// 0 included, is a seed.
type seedValue struct {
	v   uint64
	set bool
}

func (s *seedValue) String() string {
	if !s.set {
		return ""
	}
	return strconv.FormatUint(s.v, 10)
}

func (s *seedValue) Set(v string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number >= 0")
	}
	s.v, s.set = n, true
	return nil
}

// millisValue is a delay flag: whole milliseconds or a duration.
type millisValue struct{ d time.Duration }

func (m *millisValue) String() string { return strconv.FormatInt(m.d.Milliseconds(), 10) }

func (m *millisValue) Set(s string) error {
	d, err := parseMillis(s)
	if err != nil {
		return err
	}
	m.d = d
	return nil
}

// listValue is a comma-separated, repeatable list flag.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}
