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
	"github.com/teamtrack/tracking-core/config"
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
	ignoreAdvice         bool
	readAfter            time.Duration

	// Credentials: the flags, else the variables (read apart, so that -h
	// does not print a secret as a flag's default).
	authSecret, authToken string
	envAuthSecret         []byte // AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE
	envAuthToken          string
	authMode              auth.Mode // AUTH_MODE when set, else ""
}

func (c *common) register(fs *flag.FlagSet, e *config.Env) {
	fs.StringVar(&c.host, "host", e.String("HOST", "localhost"), "tracking gateway host (HOST)")
	fs.StringVar(&c.port, "port", e.String("PORT", "8080"), "tracking gateway port (PORT)")
	fs.StringVar(&c.redisPath, "redis-path", e.String("REDIS_PATH", "/tracking/redis/"), "path of the Redis strategy's API (REDIS_PATH)")
	fs.StringVar(&c.kafkaPath, "kafka-path", e.String("KAFKA_PATH", "/tracking/kafka/"), "path of the Kafka strategy's API (KAFKA_PATH)")
	fs.StringVar(&c.transport, "transport", e.String("TRANSPORT", "ws"), "worker transport: ws or ndjson (TRANSPORT)")
	c.centre = config.Func(e, "CENTRE", centreValue{simulator.SaoPaulo}, (&centreValue{simulator.SaoPaulo}).String(), "lat,lon", parseCentre)
	fs.Var(&c.centre, "centre", "city centre the workers move around, lat,lon (CENTRE)")
	fs.Float64Var(&c.radius, "radius", e.Float("RADIUS", 3000), "radius of the area workers move in, metres (RADIUS)")
	fs.Float64Var(&c.minSpeed, "min-speed", e.Float("MIN_SPEED", 1), "slowest travel speed, m/s (MIN_SPEED)")
	fs.Float64Var(&c.maxSpeed, "max-speed", e.Float("MAX_SPEED", 15), "fastest travel speed, m/s (MAX_SPEED)")
	c.seed = config.Func(e, "SEED", seedValue{}, "", "a whole number >= 0", parseSeed)
	fs.Var(&c.seed, "seed", "seed of the movement model; the same seed replays the same paths (SEED; default random, logged)")
	// 0 (the default, written "" for the README) means: computed at start.
	fs.DurationVar(&c.ramp, "ramp", config.Func(e, "RAMP", 0, "", "a duration such as 2s", config.ParseDuration),
		"spread the workers' first connects over this long; default 1ms per worker, at least 1s (2s in load mode) (RAMP)")
	fs.DurationVar(&c.statusInterval, "status-interval", config.Func(e, "STATUS_INTERVAL", 0, "", "a duration such as 10s", config.ParseDuration),
		"status update interval; default 1s on a terminal, 10s in logs; negative: off (STATUS_INTERVAL)")
	fs.StringVar(&c.logLevel, "log-level", e.String("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the simulator to this file")
	// Flags only for now: a variable needs its row in the root README's
	// configuration table (TestREADME).
	fs.BoolVar(&c.ignoreAdvice, "ignore-advice", false,
		"keep reporting at the configured interval whatever sampling advice the server sends")
	fs.DurationVar(&c.readAfter, "read-after", 0,
		"WebSocket workers send a read receipt this long after each message (besides the ack at once); 0: never")

	c.envAuthSecret, _ = auth.ReadSecret(e)
	c.envAuthToken = e.String("AUTH_TOKEN", "")
	fs.StringVar(&c.authSecret, "auth-secret", "",
		"HS256 secret (>= 32 bytes) to sign a token per worker and manager with: the services' secret (AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE; prefer those, a flag shows in ps)")
	fs.StringVar(&c.authToken, "auth-token", "", "one token for every connection, when no secret is given (AUTH_TOKEN)")
	c.authMode = auth.ReadMode(e, "")
}

// auth returns what the connections present: a token signed per worker and
// manager with the secret (-auth-secret, else AUTH_JWT_SECRET), else the one
// token (-auth-token, else AUTH_TOKEN), else nothing.
func (c *common) auth() (simulator.Auth, error) {
	secret := cmp.Or(c.authSecret, string(c.envAuthSecret))
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

func (c *centreValue) Set(s string) (err error) {
	*c, err = parseCentre(s)
	return err
}

func parseCentre(s string) (centreValue, error) {
	lat, lon, ok := strings.Cut(s, ",")
	if !ok {
		return centreValue{}, fmt.Errorf("want lat,lon")
	}
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	if err1 != nil || err2 != nil || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return centreValue{}, fmt.Errorf("want lat,lon with lat in [-90, 90] and lon in [-180, 180]")
	}
	return centreValue{tracking.Location{Latitude: la, Longitude: lo}}, nil
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

func (s *seedValue) Set(v string) (err error) {
	*s, err = parseSeed(v)
	return err
}

func parseSeed(v string) (seedValue, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return seedValue{}, fmt.Errorf("want a whole number >= 0")
	}
	return seedValue{v: n, set: true}, nil
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
