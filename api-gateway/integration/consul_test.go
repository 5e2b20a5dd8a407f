package integration_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// consul is the agent's HTTP API through its official client, as the
// services use it.
type consul struct{ *api.Client }

func newConsul(t *testing.T, addr string) *consul {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.HttpClient = &http.Client{Timeout: 5 * time.Second}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &consul{c}
}

func query(ctx context.Context) *api.QueryOptions { return (&api.QueryOptions{}).WithContext(ctx) }
func write(ctx context.Context) *api.WriteOptions { return (&api.WriteOptions{}).WithContext(ctx) }

// instance is one registration of a service, with the state of its checks.
type instance struct {
	ID      string
	Address string // host:port
	Status  string // passing, warning or critical (the worst of its checks)
}

// instances returns every registration of service, healthy or not.
func (c *consul) instances(ctx context.Context, service string) ([]instance, error) {
	entries, _, err := c.Health().Service(service, "", false, query(ctx))
	out := make([]instance, 0, len(entries))
	for _, e := range entries {
		host := e.Service.Address
		if host == "" {
			host = e.Node.Address
		}
		addr := net.JoinHostPort(host, strconv.Itoa(e.Service.Port))
		out = append(out, instance{ID: e.Service.ID, Address: addr, Status: e.Checks.AggregatedStatus()})
	}
	return out, err
}

// activeServices returns the IDs of the agent's services with a check that
// is not critical (services that something is using right now).
func (c *consul) activeServices() (map[string]string, error) {
	checks, err := c.Agent().Checks()
	out := map[string]string{}
	for _, ch := range checks {
		if ch.ServiceID != "" && ch.Status != api.HealthCritical {
			out[ch.ServiceID] = ch.ServiceName
		}
	}
	return out, err
}

// deregister removes a registration from the agent (all of this dev agent's
// services are its own).
func (c *consul) deregister(ctx context.Context, id string) error {
	return c.Agent().ServiceDeregisterOpts(id, query(ctx))
}

// leader returns the agent's leader: "" when it has none, an error when it
// does not answer.
func (c *consul) leader(ctx context.Context) (string, error) {
	return c.Status().LeaderWithQueryOptions(query(ctx))
}

// putKey, keyExists and deleteKey mark the agent's state, to tell afterwards
// whether the agent was restarted (a -dev agent comes back empty).
func (c *consul) putKey(ctx context.Context, key string) error {
	_, err := c.KV().Put(&api.KVPair{Key: key}, write(ctx))
	return err
}

func (c *consul) keyExists(ctx context.Context, key string) (bool, error) {
	pair, _, err := c.KV().Get(key, query(ctx))
	return pair != nil, err
}

func (c *consul) deleteKey(ctx context.Context, key string) error {
	_, err := c.KV().Delete(key, write(ctx))
	return err
}
