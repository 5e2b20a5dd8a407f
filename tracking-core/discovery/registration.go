package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// RegisterConfig describes one tracking replica to register with Consul.
type RegisterConfig struct {
	// ConsulAddr is the Consul agent's HTTP API, "host:port" or a URL
	// ("http://host:port", "https://..."). Required. ACL token and TLS settings
	// come from the usual CONSUL_* environment variables.
	ConsulAddr string
	// Service is the service name, e.g. "tracking-redis-service". Required.
	Service string
	// ID is this instance's unique service ID. Default:
	// "<Service>-<hostname>-<Port>-<8 random hex digits>".
	ID string
	// Address is where the gateway and the Consul agent reach this instance.
	// Default: 127.0.0.1 when the agent is on a loopback address, else the
	// hostname (a container's hostname resolves on its Docker network).
	Address string
	// Port is the instance's HTTP port. Required.
	Port int
	// CheckPath is the readiness path the agent polls over HTTP. Default "/readyz".
	CheckPath string
	// CheckInterval is how often the agent polls CheckPath. Default 5s; the
	// check's timeout is the same.
	CheckInterval time.Duration
	// DeregisterAfter is how long the check may stay critical before Consul
	// removes the instance (deregister_critical_service_after: the clean-up of
	// a crashed replica). Default 1m, which is also Consul's minimum.
	DeregisterAfter time.Duration
	// ResyncInterval is how often the registration is checked at the agent and
	// restored when missing (e.g. after an agent restart). Default 5s. While the
	// agent is unreachable, retries back off from 500ms up to this interval.
	ResyncInterval time.Duration
	// Tags and Meta are copied into the registration. Optional.
	Tags []string
	Meta map[string]string
	// Logger receives registration events. Default: discard.
	Logger *slog.Logger
}

func (c *RegisterConfig) setDefaults() error {
	if c.ConsulAddr == "" {
		return errors.New("discovery: RegisterConfig.ConsulAddr is required")
	}
	if c.Service == "" {
		return errors.New("discovery: RegisterConfig.Service is required")
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("discovery: RegisterConfig.Port %d out of range", c.Port)
	}
	if c.Address == "" {
		c.Address = defaultAddress(c.ConsulAddr)
	}
	if c.ID == "" {
		c.ID = defaultID(c.Service, c.Port)
	}
	if c.CheckPath == "" {
		c.CheckPath = "/readyz"
	}
	if !strings.HasPrefix(c.CheckPath, "/") {
		c.CheckPath = "/" + c.CheckPath
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 5 * time.Second
	}
	if c.DeregisterAfter <= 0 {
		c.DeregisterAfter = time.Minute
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// defaultAddress guesses where the agent reaches this instance: on the same
// loopback when the agent listens there, else by hostname.
func defaultAddress(consulAddr string) string {
	host := consulAddr
	if u, err := url.Parse(consulAddr); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "127.0.0.1"
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		return name
	}
	return "127.0.0.1"
}

func defaultID(service string, port int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return service + "-" + host + "-" + strconv.Itoa(port) + "-" + hex.EncodeToString(b[:])
}

// Registration is one instance's standing in Consul, kept in place by a
// background goroutine until Deregister.
type Registration struct {
	cfg    RegisterConfig
	client *consulClient
	reg    *api.AgentServiceRegistration
	log    *slog.Logger

	ctx      context.Context // ends the background goroutine
	cancel   context.CancelFunc
	done     chan struct{} // closed when the background goroutine has returned
	once     sync.Once
	deregErr error
}

// Register registers the instance with the Consul agent and keeps it
// registered until Deregister. It does not fail when the agent is
// unreachable: the registration is then retried in the background, with
// backoff, and restored whenever the agent has lost it (an agent restart, or
// Consul's removal of a long-critical instance). It fails only on an invalid
// config. ctx bounds the first attempt only.
func Register(ctx context.Context, cfg RegisterConfig) (*Registration, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	client, err := newConsulClient(cfg.ConsulAddr)
	if err != nil {
		return nil, fmt.Errorf("discovery: register %s: %w", cfg.ID, err)
	}
	r := &Registration{
		cfg:    cfg,
		client: client,
		reg:    registration(cfg),
		log:    cfg.Logger.With("service", cfg.Service, "id", cfg.ID, "consul", cfg.ConsulAddr),
		done:   make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	err = r.register(ctx)
	if err != nil {
		r.log.Warn("consul registration failed; retrying in the background", "err", err)
	} else {
		r.log.Info("registered with consul", "address", cfg.Address, "port", cfg.Port)
	}
	go r.keep(err == nil)
	return r, nil
}

func registration(cfg RegisterConfig) *api.AgentServiceRegistration {
	checkURL := (&url.URL{
		Scheme: "http",
		Host:   net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)),
		Path:   cfg.CheckPath,
	}).String()
	return &api.AgentServiceRegistration{
		ID:      cfg.ID,
		Name:    cfg.Service,
		Address: cfg.Address,
		Port:    cfg.Port,
		Tags:    cfg.Tags,
		Meta:    cfg.Meta,
		Check: &api.AgentServiceCheck{
			Name:                           cfg.Service + " readiness",
			HTTP:                           checkURL,
			Method:                         "GET",
			Interval:                       cfg.CheckInterval.String(),
			Timeout:                        cfg.CheckInterval.String(),
			DeregisterCriticalServiceAfter: cfg.DeregisterAfter.String(),
		},
	}
}

// ID returns the instance's service ID.
func (r *Registration) ID() string { return r.cfg.ID }

func (r *Registration) register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	return r.client.Agent().ServiceRegisterOpts(r.reg, opts)
}

// present reports whether the agent still holds the registration.
func (r *Registration) present(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err := r.client.Agent().Service(r.cfg.ID, (&api.QueryOptions{}).WithContext(ctx))
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// keep restores the registration until Deregister: retried with backoff while
// the agent fails, checked every ResyncInterval once in place. A failure is
// logged as a warning when it starts, then at debug level until it ends.
func (r *Registration) keep(registered bool) {
	defer close(r.done)
	bo := backoff{min: 500 * time.Millisecond, max: r.cfg.ResyncInterval}
	failing := !registered
	wait := r.cfg.ResyncInterval
	if failing {
		wait = bo.wait()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-timer.C:
		}
		ok, err := r.present(r.ctx)
		if !ok {
			if err == nil {
				r.log.Warn("consul lost the registration; registering again")
			}
			err = r.register(r.ctx)
		}
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			if failing {
				r.log.Debug("consul registration still failing", "err", err)
			} else {
				r.log.Warn("consul unreachable; retrying the registration in the background", "err", err)
			}
			failing = true
			timer.Reset(bo.wait())
			continue
		}
		if failing || !ok {
			r.log.Info("registered with consul", "address", r.cfg.Address, "port", r.cfg.Port)
		}
		failing = false
		bo.reset()
		timer.Reset(r.cfg.ResyncInterval)
	}
}

// Deregister stops keeping the registration and removes it from the agent.
// It is idempotent: later calls return the first call's result. When the
// agent is unreachable it returns the error; Consul then removes the instance
// DeregisterAfter after its check turns critical.
func (r *Registration) Deregister(ctx context.Context) error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		err := r.client.Agent().ServiceDeregisterOpts(r.cfg.ID, (&api.QueryOptions{}).WithContext(ctx))
		r.client.close()
		if err != nil {
			r.deregErr = fmt.Errorf("discovery: deregister %s: %w", r.cfg.ID, err)
			r.log.Warn("consul deregistration failed", "err", err)
			return
		}
		r.log.Info("deregistered from consul")
	})
	return r.deregErr
}
