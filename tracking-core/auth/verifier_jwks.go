package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxJWKSBytes bounds the JWKS document read from the provider.
const maxJWKSBytes = 1 << 20

// failedRefreshRetry caps the wait before the next periodic fetch after one failed.
const failedRefreshRetry = time.Minute

// JWKS verifies RS256 and ES256 (P-256) tokens with the public keys an
// identity provider publishes at a JWKS URL (RFC 7517).
//
// It fetches the keys once in NewJWKS, then every Options.RefreshInterval in
// a goroutine of its own, and when a token names a kid it does not know (at
// most once per Options.MinRefreshInterval). A failed refresh keeps the keys
// it had. Keys with another use than sig, other algorithms or curves, and
// RSA keys under 2048 bits are skipped (logged at debug level). The URL
// must be https, or http on a loopback host; other http URLs are refused,
// since whoever can alter the document can forge tokens.
//
// A token without a kid is accepted when exactly one key of its algorithm
// is known. Verify is safe for concurrent use; Close stops the refresher.
type JWKS struct {
	core
	url       string
	logURL    string // url with credentials, if any, redacted
	client    *http.Client
	ownClient bool

	keys atomic.Pointer[[]publicKey]

	// sem serialises fetches; lastFetch, written and read by its holder only,
	// rate-limits those that unknown kids trigger.
	sem       chan struct{}
	lastFetch time.Time

	closeCtx  context.Context // done on Close: ends the refresher and any fetch
	cancel    context.CancelFunc
	done      chan struct{} // closed when the refresher has returned
	closeOnce sync.Once
}

var _ VerifyCloser = (*JWKS)(nil)

// NewJWKS fetches the JWKS at url (within ctx and Options.FetchTimeout) and
// returns a verifier of tokens signed with its keys. It fails when the
// document cannot be fetched or holds no usable key, so that a service
// misconfigured this way does not start. ctx does not bound the
// verifier's life: Close does.
func NewJWKS(ctx context.Context, rawURL string, opts Options) (*JWKS, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if rawURL == "" {
		return nil, errors.New("auth: JWKS URL is empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKS URL %q: want an http or https URL", RedactURL(u))
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("auth: JWKS URL %q: plain http to a host that is not loopback; whoever can alter the document can forge tokens: use https", RedactURL(u))
	}
	j := &JWKS{
		core:   newCore(opts, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()),
		url:    rawURL,
		logURL: RedactURL(u),
		sem:    make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	j.client = opts.HTTPClient
	if j.client == nil {
		j.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		j.ownClient = true
	}
	j.closeCtx, j.cancel = context.WithCancel(context.Background())
	if err := j.fetch(ctx); err != nil {
		j.cancel()
		j.closeIdle()
		return nil, fmt.Errorf("auth: %w", err)
	}
	j.lastFetch = opts.Now()
	go j.refresher()
	return j, nil
}

// Verify implements Verifier. ctx bounds the refresh that a token with an
// unknown kid may cause.
func (j *JWKS) Verify(ctx context.Context, token string) (*Claims, error) {
	return j.verify(token, func(t *jwt.Token) (any, error) { return j.keyFor(ctx, t) })
}

// Close stops the refresher and waits for it, aborts a fetch in progress and
// closes the idle connections of its own HTTP client. It is idempotent and
// always returns nil. Verify goes on working with the keys fetched so far.
func (j *JWKS) Close() error {
	j.closeOnce.Do(func() {
		j.cancel()
		<-j.done
		j.closeIdle()
	})
	return nil
}

// Kids returns the key ids currently known, for diagnostics.
func (j *JWKS) Kids() []string {
	keys := *j.keys.Load()
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.kid
	}
	return kids
}

func (j *JWKS) closeIdle() {
	if j.ownClient {
		j.client.CloseIdleConnections()
	}
}

// keyFor returns the key to check t's signature with; t's alg is already
// known to be RS256 or ES256.
func (j *JWKS) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kidVal, hasKid := t.Header["kid"]
	kid, ok := kidVal.(string)
	if hasKid && !ok {
		return nil, unauthorized("token header kid is not a string")
	}
	if !hasKid {
		return j.onlyKey(alg)
	}
	k, found := j.lookup(kid, alg)
	if !found {
		j.refreshForUnknownKid(ctx, kid)
		if k, found = j.lookup(kid, alg); !found {
			return nil, unauthorized("unknown signing key id (kid) %q", clip(kid))
		}
	}
	if k.alg != alg {
		return nil, unauthorized("token algorithm %s does not match its key %q, which is for %s", alg, clip(kid), k.alg)
	}
	return k.key, nil
}

// lookup returns the key named kid, preferring one for alg should a
// provider publish the same kid twice.
func (j *JWKS) lookup(kid, alg string) (publicKey, bool) {
	var found publicKey
	ok := false
	for _, k := range *j.keys.Load() {
		if k.kid == kid {
			if k.alg == alg {
				return k, true
			}
			found, ok = k, true
		}
	}
	return found, ok
}

// onlyKey serves a token without kid: fine when there is no doubt which key.
func (j *JWKS) onlyKey(alg string) (any, error) {
	var match []publicKey
	for _, k := range *j.keys.Load() {
		if k.alg == alg {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 1:
		return match[0].key, nil
	case 0:
		return nil, unauthorized("token has no kid and no %s key is known", alg)
	default:
		return nil, unauthorized("token has no kid and %d %s keys are known: a kid is required", len(match), alg)
	}
}

// refreshForUnknownKid fetches the keys again, unless a fetch happened less
// than MinRefreshInterval ago. Failures are logged, not returned: the
// client is told about the unknown kid.
func (j *JWKS) refreshForUnknownKid(ctx context.Context, kid string) {
	select {
	case j.sem <- struct{}{}:
	case <-ctx.Done():
		return
	case <-j.closeCtx.Done():
		return
	}
	defer func() { <-j.sem }()
	if j.closeCtx.Err() != nil {
		return // closed while we waited
	}
	now := j.opts.Now()
	if now.Sub(j.lastFetch) < j.opts.MinRefreshInterval {
		return // rate-limited; a fetch that just happened may have brought the kid
	}
	if _, ok := j.lookup(kid, ""); ok {
		return // a fetch while we waited brought it
	}
	err := j.fetch(ctx)
	if ctx.Err() == nil { // a caller that went away does not use up the allowance
		j.lastFetch = now
	}
	if err != nil {
		j.opts.Logger.Warn("jwks refresh for an unknown kid failed; keeping the keys we have", "url", j.logURL, "kid", clip(kid), "err", err)
	}
}

// refresher fetches the keys every RefreshInterval until Close.
func (j *JWKS) refresher() {
	defer close(j.done)
	t := time.NewTimer(j.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-j.closeCtx.Done():
			return
		case <-t.C:
		}
		next := j.opts.RefreshInterval
		select {
		case j.sem <- struct{}{}:
		case <-j.closeCtx.Done():
			return
		}
		err := j.fetch(j.closeCtx)
		j.lastFetch = j.opts.Now()
		<-j.sem
		if err != nil {
			if j.closeCtx.Err() != nil {
				return
			}
			j.opts.Logger.Warn("jwks refresh failed; keeping the keys we have", "url", j.logURL, "err", err)
			next = min(next, failedRefreshRetry)
		}
		t.Reset(next)
	}
}

// fetch gets and parses the JWKS and, when it holds usable keys, makes them
// the current ones. ctx and Close both abort it.
func (j *JWKS) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, j.opts.FetchTimeout)
	defer cancel()
	stop := context.AfterFunc(j.closeCtx, cancel)
	defer stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return fmt.Errorf("fetch JWKS from %s: status %s", j.logURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("fetch JWKS from %s: %w", j.logURL, err)
	}
	if len(body) > maxJWKSBytes {
		return fmt.Errorf("fetch JWKS from %s: document larger than %d bytes", j.logURL, maxJWKSBytes)
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return fmt.Errorf("JWKS from %s: %w", j.logURL, err)
	}
	for _, s := range skipped {
		j.opts.Logger.Debug("jwks key skipped", "url", j.logURL, "why", s)
	}
	if len(keys) == 0 {
		why := ""
		if len(skipped) > 0 {
			why = ": " + strings.Join(skipped[:min(len(skipped), 3)], "; ")
			if len(skipped) > 3 {
				why += "; ..."
			}
		}
		return fmt.Errorf("JWKS from %s has no usable key (RS256, or ES256 on P-256; %d skipped)%s", j.logURL, len(skipped), why)
	}
	old := j.keys.Swap(&keys)
	if old == nil || !sameKids(*old, keys) {
		j.opts.Logger.Info("jwks keys loaded", "url", j.logURL, "kids", j.Kids())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sameKids(a, b []publicKey) bool {
	return slices.EqualFunc(a, b, func(x, y publicKey) bool { return x.kid == y.kid && x.alg == y.alg })
}
