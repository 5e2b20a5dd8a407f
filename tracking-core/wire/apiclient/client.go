package apiclient

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is what a Client sends with every request. Zero values take the
// defaults in the comments.
type Config struct {
	// HTTPClient makes the requests and the WebSocket handshakes. Default:
	// http.DefaultClient. For many long-lived streams, give it a transport
	// without a per-host limit and without compression (which buffers SSE).
	HTTPClient *http.Client
	// Header is added to every request and handshake. Default: none.
	Header http.Header
	// Token, when set, is presented as "Authorization: Bearer <Token>", or
	// as the access_token query parameter with TokenInQuery (as browsers
	// must for EventSource and WebSocket).
	Token        string
	TokenInQuery bool
	// DialTimeout bounds a handshake: the WebSocket upgrade, the response
	// headers of a stream, the start of a POST body. Default 10s.
	DialTimeout time.Duration
	// CloseTimeout bounds waiting for a POST's answer after its body ends.
	// Default 5s.
	CloseTimeout time.Duration
}

// Client is a client of one tracking API. It is a value: copies made by
// WithToken and WithHeader share the HTTPClient. Safe for concurrent use.
type Client struct {
	base *url.URL // http or https
	cfg  Config
}

// New returns a client of the API at base: an http(s) or ws(s) URL such as
// http://replica:8081/tracking or http://gateway:8080/tracking/redis. POSTs
// go to base as given (with or without its trailing slash); every other
// path is appended to it.
func New(base string, cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return nil, fmt.Errorf("api client: base URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("api client: base URL %q: want http(s)://host:port/path", base)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api client: base URL %q has no host", base)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 5 * time.Second
	}
	return &Client{base: u, cfg: cfg}, nil
}

// MustNew is New for tests and fixed URLs: it panics on a bad base URL.
func MustNew(base string, cfg Config) *Client {
	c, err := New(base, cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// WithToken returns a copy of c that presents token (nothing when "").
func (c *Client) WithToken(token string) *Client {
	d := *c
	d.cfg.Token = token
	return &d
}

// WithHeader returns a copy of c that sends h instead of its Header.
func (c *Client) WithHeader(h http.Header) *Client {
	d := *c
	d.cfg.Header = h
	return &d
}

// BaseURL is the base URL, without credentials.
func (c *Client) BaseURL() string { return c.base.String() }

// postURL is the base URL as given; url appends path to it.
func (c *Client) postURL() string { return c.withToken(*c.base) }

func (c *Client) url(path string) string { return c.urlWith(path, nil) }

// urlWith is url with query parameters added.
func (c *Client) urlWith(path string, query url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	if len(query) > 0 {
		q := u.Query()
		for k, v := range query {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	return c.withToken(u)
}

func (c *Client) withToken(u url.URL) string {
	if c.cfg.Token != "" && c.cfg.TokenInQuery {
		q := u.Query()
		q.Set("access_token", c.cfg.Token)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// header returns the headers of a request: Header and the bearer token.
func (c *Client) header() http.Header {
	h := make(http.Header, len(c.cfg.Header)+2)
	maps.Copy(h, c.cfg.Header)
	if c.cfg.Token != "" && !c.cfg.TokenInQuery {
		h.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return h
}

// redact returns u without its query, for error messages: a token may be there.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
