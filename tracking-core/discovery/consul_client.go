package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/consul/api"
)

// consulClient is a Consul API client with its own transport, so that Close
// can drop its idle connections (and their goroutines).
type consulClient struct {
	*api.Client
	transport *http.Transport
}

// newConsulClient returns a client for the agent at addr ("host:port" or a URL
// with scheme). The rest of the configuration (ACL token, TLS) comes from the
// usual CONSUL_* environment variables, as for the consul CLI.
func newConsulClient(addr string) (*consulClient, error) {
	if addr == "" {
		return nil, errors.New("consul address is empty")
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   3 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.Transport = tr
	// No client-wide timeout: blocking queries last up to their WaitTime. Each
	// call is bounded by its context instead.
	cfg.HttpClient = nil
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client for %s: %w", addr, err)
	}
	return &consulClient{Client: c, transport: tr}, nil
}

func (c *consulClient) close() { c.transport.CloseIdleConnections() }

// isNotFound reports whether err is Consul's answer 404.
func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}
