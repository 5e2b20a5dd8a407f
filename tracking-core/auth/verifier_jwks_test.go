package auth_test

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/testsupport"
)

// jwksServer serves a JWKS document that tests change as they go.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	status  int
	body    string // served verbatim when set
	fetches atomic.Int64
	hang    chan struct{} // when set, requests block until they are cancelled, and signal here
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		keys, status, body, hang := s.keys, s.status, s.body, s.hang
		s.mu.Unlock()
		if hang != nil {
			hang <- struct{}{}
			<-r.Context().Done()
			return
		}
		if body == "" {
			b, _ := json.Marshal(map[string]any{"keys": keys})
			body = string(b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newJWKS(t *testing.T, url string, opts auth.Options) *auth.JWKS {
	t.Helper()
	j, err := auth.NewJWKS(bg, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func TestJWKSVerifies(t *testing.T) {
	r, e := rsaKeys(), ecKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey), ecJWK("e1", &e[0].PublicKey), rsaJWK("r2", &r[1].PublicKey, "alg", "", "use", ""))
	j := newJWKS(t, srv.URL, auth.Options{Now: func() time.Time { return t0 }})
	if got := j.Kids(); !slices.Equal(got, []string{"r1", "e1", "r2"}) {
		t.Fatalf("kids %v", got)
	}
	claims := workerClaims(t0)
	for _, c := range []struct {
		name  string
		token string
	}{
		{"RS256", sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "r1"}, claims)},
		{"ES256", sign(t, jwt.SigningMethodES256, e[0], map[string]any{"kid": "e1"}, claims)},
		{"RS256, key without alg and use", sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, claims)},
		{"ES256 without kid, the only EC key", sign(t, jwt.SigningMethodES256, e[0], nil, claims)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := j.Verify(bg, c.token)
			if err != nil {
				t.Fatal(err)
			}
			if got.WorkerID != "w-1" || got.Role != auth.RoleWorker {
				t.Fatalf("claims %+v", *got)
			}
		})
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for known kids, want 1", n)
	}
}

func TestJWKSRefuses(t *testing.T) {
	r, e := rsaKeys(), ecKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey), rsaJWK("r2", &r[1].PublicKey), ecJWK("e1", &e[0].PublicKey))
	j := newJWKS(t, srv.URL, auth.Options{Now: func() time.Time { return t0 }, MinRefreshInterval: time.Hour})
	claims := workerClaims(t0)
	rsaPubDER := must(x509.MarshalPKIXPublicKey(&r[0].PublicKey))
	for _, c := range []struct {
		name  string
		token string
		want  string
	}{
		{"HS256 signed with the RSA public key", sign(t, jwt.SigningMethodHS256, rsaPubDER, map[string]any{"kid": "r1"}, claims), `wrong algorithm "HS256": this service accepts RS256 and ES256`},
		{"alg none", unsigned(`{"alg":"none","kid":"r1"}`, `{"sub":"a","role":"admin","exp":9999999999}`), "unsigned token (alg none) refused"},
		{"RS256 naming an EC key", sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "e1"}, claims), `token algorithm RS256 does not match its key "e1", which is for ES256`},
		{"ES256 naming an RSA key", sign(t, jwt.SigningMethodES256, e[0], map[string]any{"kid": "r1"}, claims), `token algorithm ES256 does not match its key "r1", which is for RS256`},
		{"RS512", sign(t, jwt.SigningMethodRS512, r[0], map[string]any{"kid": "r1"}, claims), `wrong algorithm "RS512"`},
		{"PS256", sign(t, jwt.SigningMethodPS256, r[0], map[string]any{"kid": "r1"}, claims), `wrong algorithm "PS256"`},
		{"signed by another key of the set", sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r1"}, claims), "bad signature"},
		{"signed by a key not in the set", sign(t, jwt.SigningMethodES256, e[1], map[string]any{"kid": "e1"}, claims), "bad signature"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, r[2], map[string]any{"kid": "r3"}, claims), `unknown signing key id (kid) "r3"`},
		{"kid not a string", sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": 7}, claims), "token header kid is not a string"},
		{"no kid, two RSA keys", sign(t, jwt.SigningMethodRS256, r[0], nil, claims), "token has no kid and 2 RS256 keys are known: a kid is required"},
		{"expired", sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "r1"}, with(claims, "exp", t0.Add(-time.Hour).Unix())), "token expired at 2026-11-22T12:21:04Z (1h0m0s ago)"},
		{"bad role", sign(t, jwt.SigningMethodES256, e[0], map[string]any{"kid": "e1"}, with(claims, "role", "root")), `token claim role "root" is not one of`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := j.Verify(bg, c.token)
			if err == nil {
				t.Fatalf("accepted: %+v", *got)
			}
			wantCode(t, err, tracking.CodeUnauthorized, c.want)
		})
	}
}

func TestJWKSNoKidNeedsAKeyOfItsAlgorithm(t *testing.T) {
	r, e := rsaKeys(), ecKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	j := newJWKS(t, srv.URL, auth.Options{Now: func() time.Time { return t0 }})
	if _, err := j.Verify(bg, sign(t, jwt.SigningMethodRS256, r[0], nil, workerClaims(t0))); err != nil {
		t.Fatalf("no kid, one RSA key: %v", err)
	}
	_, err := j.Verify(bg, sign(t, jwt.SigningMethodES256, e[0], nil, workerClaims(t0)))
	wantCode(t, err, tracking.CodeUnauthorized, "token has no kid and no ES256 key is known")
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	small := must(rsa.GenerateKey(rand.Reader, 1024))
	p384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	r, e := rsaKeys(), ecKeys()
	offCurve := ecJWK("bad-point", &e[0].PublicKey)
	offCurve["y"] = offCurve["x"]
	logs := &testsupport.SyncBuffer{}
	srv := newJWKSServer(t,
		rsaJWK("enc", &r[0].PublicKey, "use", "enc"),
		rsaJWK("rs512", &r[0].PublicKey, "alg", "RS512"),
		rsaJWK("small", &small.PublicKey),
		rsaJWK("even-e", &r[0].PublicKey, "e", "Ag"),
		rsaJWK("no-n", &r[0].PublicKey, "n", ""),
		ecJWK("p384", &p384.PublicKey),
		ecJWK("es384", &e[0].PublicKey, "alg", "ES384"),
		offCurve,
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]any{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AA"},
		map[string]any{"kid": 5},
		ecJWK("good", &e[1].PublicKey, "alg", "ES256", "use", "sig"),
	)
	j := newJWKS(t, srv.URL, auth.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if got := j.Kids(); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("kids %v, want [good]", got)
	}
	for _, why := range []string{`use \"enc\" is not sig`, "only RS256 is supported", "RSA key of 1024 bits", "RSA exponent 2 is not usable",
		`member \"n\" is missing`, `EC curve \"P-384\" is not supported`, "only ES256 is supported", "EC key:", `key type \"oct\" is not supported`,
		`key type \"OKP\"`, "keys[10]: json"} {
		if !strings.Contains(logs.String(), why) {
			t.Errorf("log does not say %q:\n%s", why, logs)
		}
	}
}

func TestNewJWKSFails(t *testing.T) {
	r := rsaKeys()
	dead := func() string { // an address nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return "http://" + addr + "/jwks"
	}()
	for _, c := range []struct {
		name string
		set  func(s *jwksServer)
		url  string
		want string
	}{
		{"status 500", func(s *jwksServer) { s.status = http.StatusInternalServerError }, "", "status 500"},
		{"not JSON", func(s *jwksServer) { s.body = "<html>" }, "", "not a JWKS document"},
		{"no keys array", func(s *jwksServer) { s.body = `{"issuer":"x"}` }, "", "no keys array"},
		{"no usable key", func(s *jwksServer) { s.keys = []map[string]any{rsaJWK("enc", &r[0].PublicKey, "use", "enc")} }, "", `has no usable key (RS256, or ES256 on P-256; 1 skipped): keys[0] (kid "enc"): use "enc" is not sig`},
		{"too large", func(s *jwksServer) { s.body = `{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}` }, "", "larger than"},
		{"nobody listening", nil, dead, "connection refused"},
		{"empty URL", nil, "-", "JWKS URL is empty"},
		{"not http", nil, "file:///etc/jwks.json", `JWKS URL "file:///etc/jwks.json": want an http or https URL`},
		{"no host", nil, "http:///jwks", "want an http or https URL"},
		{"credentials stay out of errors", nil, "ftp://user:pw@idp/jwks", `"ftp://user:xxxxx@idp/jwks"`},
		{"unparsable", nil, "http://idp/%zz", "JWKS URL: parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
			if c.set != nil {
				srv.set(c.set)
			}
			url := cmp.Or(c.url, srv.URL)
			if url == "-" {
				url = ""
			}
			j, err := auth.NewJWKS(bg, url, auth.Options{})
			if err == nil {
				_ = j.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestJWKSRefreshesOnUnknownKidAtMostOncePerInterval(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	clock := newClock(t0)
	j := newJWKS(t, srv.URL, auth.Options{Now: clock.Now, MinRefreshInterval: 10 * time.Second})
	claims := workerClaims(t0)
	tokenR2 := sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, claims)

	// The provider adds r2 right after our first fetch: too soon to fetch again.
	srv.set(func(s *jwksServer) { s.keys = append(s.keys, rsaJWK("r2", &r[1].PublicKey)) })
	_, err := j.Verify(bg, tokenR2)
	wantCode(t, err, tracking.CodeUnauthorized, `unknown signing key id (kid) "r2"`)
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the minimum interval, want 1", n)
	}

	clock.Advance(10 * time.Second)
	if _, err := j.Verify(bg, tokenR2); err != nil {
		t.Fatalf("after the interval the unknown kid should cause a fetch: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// A flood of made-up kids costs at most one fetch per interval.
	clock.Advance(10 * time.Second)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			tok := sign(t, jwt.SigningMethodRS256, r[2], map[string]any{"kid": "made-up-" + string(rune('a'+i))}, claims)
			_, err := j.Verify(bg, tok)
			if tracking.ErrorCode(err) != tracking.CodeUnauthorized {
				t.Errorf("made-up kid: %v", err)
			}
		})
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches after a flood of unknown kids, want 3", n)
	}
	if _, err := j.Verify(bg, tokenR2); err != nil {
		t.Fatalf("known key after the flood: %v", err)
	}
}

func TestJWKSUnknownKidRefreshGivesUpWithTheCaller(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	clock := newClock(t0)
	j := newJWKS(t, srv.URL, auth.Options{Now: clock.Now})
	hang := make(chan struct{}, 1)
	srv.set(func(s *jwksServer) { s.hang = hang })
	clock.Advance(time.Minute)
	ctx, cancel := context.WithCancel(bg)
	go func() { <-hang; cancel() }()
	_, err := j.Verify(ctx, sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, workerClaims(t0)))
	wantCode(t, err, tracking.CodeUnauthorized, `unknown signing key id (kid) "r2"`)

	// The abandoned fetch did not use up the allowance.
	srv.set(func(s *jwksServer) { s.hang = nil; s.keys = append(s.keys, rsaJWK("r2", &r[1].PublicKey)) })
	if _, err := j.Verify(bg, sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, workerClaims(t0))); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSPeriodicRefreshFollowsRotation(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	logs := &testsupport.SyncBuffer{}
	j := newJWKS(t, srv.URL, auth.Options{
		Now:                func() time.Time { return t0 },
		RefreshInterval:    10 * time.Millisecond,
		MinRefreshInterval: time.Hour, // only the periodic refresh may fetch
		Logger:             slog.New(slog.NewTextHandler(logs, nil)),
	})
	claims := workerClaims(t0)
	token1 := sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "r1"}, claims)
	token2 := sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, claims)
	if _, err := j.Verify(bg, token1); err != nil {
		t.Fatal(err)
	}

	srv.set(func(s *jwksServer) { s.keys = []map[string]any{rsaJWK("r2", &r[1].PublicKey)} })
	testsupport.Eventually(t, 10*time.Second, "the rotated key", func() bool { _, err := j.Verify(bg, token2); return err == nil })
	_, err := j.Verify(bg, token1)
	wantCode(t, err, tracking.CodeUnauthorized, `unknown signing key id (kid) "r1"`)

	// A provider that fails keeps the keys we have.
	srv.set(func(s *jwksServer) { s.status = http.StatusBadGateway })
	n := srv.fetches.Load()
	testsupport.Eventually(t, 10*time.Second, "failed refreshes", func() bool { return srv.fetches.Load() >= n+2 })
	if _, err := j.Verify(bg, token2); err != nil {
		t.Fatalf("key lost after failed refreshes: %v", err)
	}
	// And so does one that serves no usable key.
	srv.set(func(s *jwksServer) { s.status = http.StatusOK; s.keys = []map[string]any{} })
	n = srv.fetches.Load()
	testsupport.Eventually(t, 10*time.Second, "empty refreshes", func() bool { return srv.fetches.Load() >= n+2 })
	if _, err := j.Verify(bg, token2); err != nil {
		t.Fatalf("key lost after an empty JWKS: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "jwks refresh failed") || !strings.Contains(out, "status 502") || !strings.Contains(out, "kids=[r2]") {
		t.Errorf("logs:\n%s", out)
	}
}

func TestJWKSCloseStopsAFetchInProgress(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	j := newJWKS(t, srv.URL, auth.Options{RefreshInterval: time.Millisecond, FetchTimeout: time.Hour, Now: func() time.Time { return t0 }})
	hang := make(chan struct{}, 1)
	srv.set(func(s *jwksServer) { s.hang = hang })
	<-hang // the refresher is stuck in a fetch
	closed := make(chan struct{})
	go func() { _ = j.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not abort the fetch")
	}
	_ = j.Close() // idempotent
	// Verify goes on with the keys it has, without fetching.
	if _, err := j.Verify(bg, sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "r1"}, workerClaims(t0))); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	_, err := j.Verify(bg, sign(t, jwt.SigningMethodRS256, r[1], map[string]any{"kid": "r2"}, workerClaims(t0)))
	wantCode(t, err, tracking.CodeUnauthorized, "unknown signing key id")
}

func TestJWKSUsesTheGivenHTTPClient(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	var used atomic.Bool
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(req)
	})}
	j := newJWKS(t, srv.URL, auth.Options{HTTPClient: client})
	if !used.Load() {
		t.Fatal("HTTPClient not used")
	}
	_ = j.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A plain-http JWKS URL off the loopback is refused: whoever can alter the
// document can forge tokens.
func TestJWKSRefusesPlainHTTP(t *testing.T) {
	r := rsaKeys()
	doc, _ := json.Marshal(map[string]any{"keys": []any{rsaJWK("r1", &r[0].PublicKey)}})
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		_, _ = rec.Write(doc)
		return rec.Result(), nil
	})}
	for url, refused := range map[string]bool{"http://idp.example/jwks": true, "http://10.0.0.1/jwks": true, "https://idp.example/jwks": false, "http://localhost:9/jwks": false, "http://[::1]:9/jwks": false, "http://127.0.0.2/jwks": false} {
		j, err := auth.NewJWKS(bg, url, auth.Options{HTTPClient: client})
		if err == nil {
			_ = j.Close()
		}
		if refused != (err != nil) || refused && !strings.Contains(err.Error(), "plain http") {
			t.Errorf("%s: err = %v, want a refusal: %v", url, err, refused)
		}
	}
}
