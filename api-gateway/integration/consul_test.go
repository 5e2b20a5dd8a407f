package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// consul talks to the agent's HTTP API directly: the tests need four calls,
// and raw HTTP shows exactly what the agent answers.
type consul struct {
	addr   string
	client *http.Client
}

func newConsul(addr string) *consul {
	return &consul{addr: addr, client: &http.Client{Timeout: 5 * time.Second}}
}

// instance is one registration of a service, with the state of its checks.
type instance struct {
	ID      string
	Address string // host:port
	Status  string // passing, warning or critical (the worst of its checks)
}

func (c *consul) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, nil)
	if err != nil {
		return err
	}
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("consul %s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(body)))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// instances returns every registration of service, healthy or not.
func (c *consul) instances(ctx context.Context, service string) ([]instance, error) {
	var entries []struct {
		Node    struct{ Address string }
		Service struct {
			ID      string
			Address string
			Port    int
		}
		Checks []struct{ Status string }
	}
	if err := c.do(ctx, http.MethodGet, "/v1/health/service/"+service, &entries); err != nil {
		return nil, err
	}
	out := make([]instance, 0, len(entries))
	for _, e := range entries {
		host := e.Service.Address
		if host == "" {
			host = e.Node.Address
		}
		status := "passing"
		for _, ch := range e.Checks {
			if ch.Status == "critical" || ch.Status == "warning" && status == "passing" {
				status = ch.Status
			}
		}
		out = append(out, instance{ID: e.Service.ID, Address: net.JoinHostPort(host, strconv.Itoa(e.Service.Port)), Status: status})
	}
	return out, nil
}

// activeServices returns the IDs of the agent's services with a check that
// is not critical (services that something is using right now).
func (c *consul) activeServices(ctx context.Context) (map[string]string, error) {
	var checks map[string]struct {
		ServiceID   string
		ServiceName string
		Status      string
	}
	if err := c.do(ctx, http.MethodGet, "/v1/agent/checks", &checks); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ch := range checks {
		if ch.ServiceID != "" && ch.Status != "critical" {
			out[ch.ServiceID] = ch.ServiceName
		}
	}
	return out, nil
}

// deregister removes a registration from the agent (all of this dev agent's
// services are its own).
func (c *consul) deregister(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPut, "/v1/agent/service/deregister/"+id, nil)
}

// hasLeader reports whether the agent answers and has elected a leader.
func (c *consul) hasLeader(ctx context.Context) bool {
	var leader string
	return c.do(ctx, http.MethodGet, "/v1/status/leader", &leader) == nil && leader != ""
}

// reachable reports whether the agent answers at all.
func (c *consul) reachable(ctx context.Context) bool {
	var leader string
	return c.do(ctx, http.MethodGet, "/v1/status/leader", &leader) == nil
}

// putKey and getKey mark the agent's state, to tell afterwards whether the
// agent was restarted (a -dev agent comes back empty).
func (c *consul) putKey(ctx context.Context, key string) error {
	return c.do(ctx, http.MethodPut, "/v1/kv/"+key, nil)
}

func (c *consul) keyExists(ctx context.Context, key string) (bool, error) {
	var entries []json.RawMessage
	err := c.do(ctx, http.MethodGet, "/v1/kv/"+key, &entries)
	if err != nil && strings.Contains(err.Error(), ": 404") {
		return false, nil
	}
	return err == nil, err
}

func (c *consul) deleteKey(ctx context.Context, key string) error {
	return c.do(ctx, http.MethodDelete, "/v1/kv/"+key, nil)
}
