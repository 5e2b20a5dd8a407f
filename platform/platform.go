package platform

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teamtrack/tracking-core/auth"
)

// Config of a local platform run.
type Config struct {
	// BinDir holds the built binaries. Default "bin".
	BinDir string
	// LogDir receives one log file per process. Default ".tmp/platform".
	LogDir string
	// RedisAddr and KafkaBrokers name real brokers; empty starts embedded ones.
	RedisAddr    string
	KafkaBrokers string
	// ConsulAddr names a real Consul agent; empty gives the gateway a static list.
	ConsulAddr string
	// HistoryDSN is every replica's HISTORY_DSN. Default: one SQLite file,
	// history.db in LogDir, shared by all replicas (WAL mode, SQLite's lock
	// serialises their writes): the embedded default of durable history.
	HistoryDSN string
	// GatewayPort is the gateway's port. Default 8080.
	GatewayPort int
	// Replicas of each strategy. Default 2.
	Replicas int
	// Simulator starts team-simulator with its defaults. Default true via cmd.
	Simulator bool
	// Auth is how the services authenticate. Default (empty Mode): dev, with
	// a random secret made for this run.
	Auth Auth
	// Out receives progress lines.
	Out io.Writer
}

// Auth is what every child (tracking services, gateway, simulator) gets as
// AUTH_MODE, AUTH_JWT_SECRET, AUTH_JWT_SECRET_FILE and AUTH_JWKS_URL.
type Auth struct {
	// Mode is AUTH_MODE: "jwt", "dev" or "none" (any case). Empty: mode dev
	// with a random 32-byte secret (hex) made at start, so that the local
	// platform authenticates as production does, with nothing to set up:
	// the gateway's dev login signs the map's tokens with it, the simulator
	// its workers' tokens, the services check them; Secret and JWKSURL are
	// then not used.
	Mode string
	// Secret, SecretFile and JWKSURL are AUTH_JWT_SECRET,
	// AUTH_JWT_SECRET_FILE and AUTH_JWKS_URL, passed on as they are when Mode
	// is set (empty ones are not passed). Default: none.
	Secret     string
	SecretFile string
	JWKSURL    string
}

// env returns the AUTH_* variables of the children and a description of the
// mode for the progress line (never the secret).
func (a Auth) env() (env []string, desc string, err error) {
	mode := strings.TrimSpace(a.Mode)
	if mode == "" {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, "", fmt.Errorf("auth: random secret: %w", err)
		}
		// AUTH_JWKS_URL and AUTH_JWT_SECRET_FILE are cleared: either left
		// in the environment would make the services refuse to start.
		return []string{"AUTH_MODE=dev", "AUTH_JWT_SECRET=" + hex.EncodeToString(secret), "AUTH_JWKS_URL=", "AUTH_JWT_SECRET_FILE="},
			"dev (a random AUTH_JWT_SECRET made for this run: the map signs in through the gateway's dev login, the simulator signs its workers' tokens; set AUTH_MODE to choose jwt or none)", nil
	}
	m, err := auth.ParseMode(mode)
	if err != nil {
		return nil, "", fmt.Errorf("AUTH_MODE: %w", err)
	}
	env = []string{"AUTH_MODE=" + a.Mode}
	var from []string
	for _, v := range []struct{ name, value, desc string }{
		{"AUTH_JWT_SECRET", a.Secret, ""}, // never the secret in the description
		{"AUTH_JWT_SECRET_FILE", a.SecretFile, " " + a.SecretFile},
		{"AUTH_JWKS_URL", a.JWKSURL, " " + a.JWKSURL},
	} {
		if v.value != "" {
			env = append(env, v.name+"="+v.value)
			from = append(from, v.name+v.desc)
		}
	}
	desc = string(m) + " (AUTH_MODE from the environment"
	if len(from) > 0 {
		desc += ", with " + strings.Join(from, " and ")
	}
	return env, desc + ")", nil
}

// Platform is a running local platform.
type Platform struct {
	cfg      Config
	authEnv  []string // AUTH_* of every child
	embedded []*Embedded
	procs    []*Process
}

// WithDefaults returns c with the defaults Start fills in (cmd/platform
// offers them as the variables' defaults).
func (c Config) WithDefaults() Config { c.setDefaults(); return c }

func (c *Config) setDefaults() {
	c.BinDir = cmp.Or(c.BinDir, "bin")
	c.LogDir = cmp.Or(c.LogDir, filepath.Join(".tmp", "platform"))
	c.GatewayPort = cmp.Or(c.GatewayPort, 8080)
	c.Replicas = cmp.Or(max(c.Replicas, 0), 2) // 2 for a zero or negative count
	c.Out = cmp.Or(c.Out, io.Discard)
}

func (p *Platform) say(format string, args ...any) {
	fmt.Fprintf(p.cfg.Out, "[platform] "+format+"\n", args...)
}

// Start brings the platform up in order: brokers, replicas, gateway,
// simulator, each waited for before the next. On error, what started is stopped.
func Start(ctx context.Context, cfg Config) (*Platform, error) {
	cfg.setDefaults()
	p := &Platform{cfg: cfg}
	if err := p.start(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Platform) start(ctx context.Context) error {
	cfg := p.cfg
	authEnv, authDesc, err := cfg.Auth.env()
	if err != nil {
		return err
	}
	p.authEnv = authEnv
	p.say("auth mode %s", authDesc)
	historyDSN := cfg.HistoryDSN
	if historyDSN == "" {
		abs, err := filepath.Abs(filepath.Join(cfg.LogDir, "history.db"))
		if err != nil {
			return fmt.Errorf("history file: %w", err)
		}
		historyDSN = "sqlite:" + abs
		p.say("durable history in %s; set HISTORY_DSN to use PostgreSQL", abs)
	}
	// Each strategy: its broker (a real one, else embedded), then its
	// replicas on ports 8081, 8083... (redis) and 8082, 8084... (kafka).
	var gwEnv []string
	for j, b := range []struct {
		addr                          string
		start                         func() (*Embedded, error)
		name, broker, variable, embed string
	}{
		{cfg.RedisAddr, StartRedis, "redis", "Redis", "REDIS_ADDR", "Redis-protocol server (miniredis)"},
		{cfg.KafkaBrokers, StartKafka, "kafka", "Kafka", "KAFKA_BROKERS", "Kafka-protocol broker (kfake)"},
	} {
		if b.addr != "" {
			p.say("using %s at %s", b.broker, b.addr)
		} else {
			e, err := b.start()
			if err != nil {
				return err
			}
			p.embedded = append(p.embedded, e)
			b.addr = e.Addr
			p.say("embedded %s on %s; set %s to use a real %s", b.embed, e.Addr, b.variable, b.broker)
		}
		var addrs []string
		for i := range cfg.Replicas {
			port := cfg.GatewayPort + 1 + j + 2*i
			addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
			p.add(fmt.Sprintf("tracking-%s-%d", b.name, i+1), "tracking-"+b.name, port, b.variable+"="+b.addr, "HISTORY_DSN="+historyDSN)
		}
		if cfg.ConsulAddr == "" {
			gwEnv = append(gwEnv, "TRACKING_"+strings.ToUpper(b.name)+"_ADDRS="+strings.Join(addrs, ","))
		}
	}
	p.add("api-gateway", "api-gateway", cfg.GatewayPort, gwEnv...)
	if err := p.startAll(ctx); err != nil {
		return err
	}
	if cfg.Simulator {
		sim := &Process{
			Name: "team-simulator", Path: filepath.Join(cfg.BinDir, "team-simulator"), LogDir: cfg.LogDir,
			Env: append([]string{"HOST=127.0.0.1", "PORT=" + strconv.Itoa(cfg.GatewayPort)}, p.authEnv...),
		}
		p.say("starting team-simulator (logs: %s)", sim.LogFile())
		if err := sim.Start(); err != nil {
			return err
		}
		p.procs = append(p.procs, sim)
	}
	return nil
}

// add queues a service on port, with the common environment.
func (p *Platform) add(name, binary string, port int, env ...string) {
	base := []string{"HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port)}
	if p.cfg.ConsulAddr != "" {
		base = append(base, "CONSUL_HTTP_ADDR="+p.cfg.ConsulAddr)
	}
	base = append(base, p.authEnv...)
	p.procs = append(p.procs, &Process{
		Name: name, Path: filepath.Join(p.cfg.BinDir, binary), LogDir: p.cfg.LogDir,
		Env:      append(base, env...),
		ReadyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", port),
	})
}

func (p *Platform) startAll(ctx context.Context) error {
	for _, proc := range p.procs {
		p.say("starting %s (logs: %s)", proc.Name, proc.LogFile())
		if err := proc.Start(); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, proc := range p.procs {
		if err := proc.WaitReady(wctx); err != nil {
			return err
		}
		p.say("%s ready", proc.Name)
	}
	return nil
}

// Wait returns when ctx ends (nil) or a process exits (an error naming it).
func (p *Platform) Wait(ctx context.Context) error {
	exited := make(chan *Process, len(p.procs))
	stop := make(chan struct{})
	defer close(stop)
	for _, proc := range p.procs {
		go func() {
			select {
			case <-proc.exited:
				exited <- proc
			case <-stop:
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case proc := <-exited:
		//nolint:errorlint // Err is nil after a clean exit: %v says <nil> where %w would not.
		return fmt.Errorf("%s exited: %v (see %s)", proc.Name, proc.err, proc.LogFile())
	}
}

// Stop stops every process in reverse order of start, then the embedded
// brokers. It is idempotent.
func (p *Platform) Stop() {
	for _, proc := range slices.Backward(p.procs) {
		if proc.cmd != nil {
			p.say("stopping %s", proc.Name)
			proc.Stop(20 * time.Second)
		}
	}
	for _, e := range p.embedded {
		e.Close()
	}
	p.embedded = nil
}
