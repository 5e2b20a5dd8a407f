package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/api-gateway/redact"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/discovery"
)

// Config configures a Gateway. Zero values take the defaults in the comments.
type Config struct {
	// Resolver gives the healthy instances of each service. Required.
	Resolver discovery.Resolver
	// AuthMode is how requests under /tracking/{strategy}/ are authenticated:
	// auth.ModeJWT and auth.ModeDev check a token with Verifier, auth.ModeNone
	// checks nothing. Required, with no default: whether the platform is open
	// is the caller's decision (cmd/api-gateway reads AUTH_MODE).
	AuthMode auth.Mode
	// Verifier checks tokens in modes jwt and dev, where it is required;
	// mode none does not use it. The gateway does not close it.
	Verifier auth.Verifier
	// DevIssuer signs the tokens of POST /auth/dev-login, a route that exists
	// only in mode dev, where DevIssuer is required. It must sign with the
	// secret Verifier checks. Ignored in the other modes.
	DevIssuer *auth.Issuer
	// Services maps a strategy (the path segment after /tracking/) to its
	// service name. Default: redis -> tracking-redis-service,
	// kafka -> tracking-kafka-service.
	Services map[string]string
	// View serves / and every other path outside /tracking and the operator
	// endpoints. Default: 404 JSON.
	View http.Handler
	// AllowedOrigins are the origins allowed by CORS, or "*". Default ["*"].
	AllowedOrigins []string
	// DialTimeout bounds the connection to an upstream. Default 2s.
	DialTimeout time.Duration
	// MaxAttempts is the number of instances tried when connections are
	// refused. Default 3.
	MaxAttempts int
	// FailureCooldown is how long an instance that refused a connection is
	// tried last. Default 5s.
	FailureCooldown time.Duration
	// RetryAfter is the Retry-After of a 503. Default 2s.
	RetryAfter time.Duration
	// Registry receives the gateway's metrics and is served on /metrics.
	// Default: a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Logger receives access and error logs. Its handler is wrapped in a
	// redact.Handler (unless it is one) so that no line carries a token.
	// Default: discard.
	Logger *slog.Logger
	// Transport reaches the upstreams. Default: an http.Transport tuned for
	// proxying (no compression, no response timeout, DialTimeout).
	Transport http.RoundTripper
}

// DefaultServices are the strategies of the platform.
var DefaultServices = map[string]string{
	"redis": "tracking-redis-service",
	"kafka": "tracking-kafka-service",
}

func (c *Config) setDefaults() error {
	if c.Resolver == nil {
		return errors.New("gateway: Config.Resolver is required")
	}
	switch c.AuthMode {
	case auth.ModeNone:
	case auth.ModeJWT, auth.ModeDev:
		if c.Verifier == nil {
			return fmt.Errorf("gateway: auth mode %s needs Config.Verifier", c.AuthMode)
		}
		if c.AuthMode == auth.ModeDev && c.DevIssuer == nil {
			return errors.New("gateway: auth mode dev needs Config.DevIssuer for POST /auth/dev-login")
		}
	case "":
		return errors.New("gateway: Config.AuthMode is required (jwt, dev or none)")
	default:
		return fmt.Errorf("gateway: unknown Config.AuthMode %q (want jwt, dev or none)", c.AuthMode)
	}
	if len(c.Services) == 0 {
		c.Services = DefaultServices
	}
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = []string{"*"}
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 2 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.FailureCooldown <= 0 {
		c.FailureCooldown = 5 * time.Second
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 2 * time.Second
	}
	if c.Registry == nil {
		c.Registry = NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if _, ok := c.Logger.Handler().(*redact.Handler); !ok {
		c.Logger = slog.New(redact.NewHandler(c.Logger.Handler()))
	}
	if c.Transport == nil {
		c.Transport = NewTransport(c.DialTimeout)
	}
	return nil
}
