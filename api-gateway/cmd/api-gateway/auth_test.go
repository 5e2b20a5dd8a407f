package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
)

const testSecret = "cmd-test-secret-0123456789abcdef-0123456789"

func TestNewAuthRefusesBadConfig(t *testing.T) {
	dead := deadURL(t)
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"jwt without keys", map[string]string{"AUTH_MODE": "jwt"}, "AUTH_JWKS_URL"},
		{"jwt with both", map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testSecret, "AUTH_JWKS_URL": dead}, "both"},
		{"jwt, short secret", map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": "short"}, "AUTH_JWT_SECRET is 5 bytes"},
		{"jwt, JWKS down", map[string]string{"AUTH_MODE": "jwt", "AUTH_JWKS_URL": dead}, "AUTH_MODE=jwt"},
		{"dev without secret", map[string]string{"AUTH_MODE": "dev"}, "AUTH_JWT_SECRET"},
		{"dev, short secret", map[string]string{"AUTH_MODE": "dev", "AUTH_JWT_SECRET": strings.Repeat("x", 31)}, "at least 32"},
		{"dev with JWKS", map[string]string{"AUTH_MODE": "dev", "AUTH_JWT_SECRET": testSecret, "AUTH_JWKS_URL": dead}, "AUTH_JWKS_URL"},
	} {
		cfg := readSettings(config.Map(c.env))
		v, iss, err := newAuth(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one with %q", c.name, err, c.want)
		}
		if v != nil || iss != nil {
			t.Errorf("%s: a verifier or issuer with the error", c.name)
		}
		t.Logf("%s: %v", c.name, err)
	}
}

func TestNewAuthPerMode(t *testing.T) {
	jwks := jwksServer(t)
	for _, c := range []struct {
		env       map[string]string
		devIssuer bool
	}{
		{map[string]string{"AUTH_MODE": "none", "AUTH_JWT_SECRET": "ignored"}, false},
		{map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testSecret, "AUTH_ISSUER": "iss"}, false},
		{map[string]string{"AUTH_MODE": "jwt", "AUTH_JWKS_URL": jwks.URL}, false},
		{map[string]string{"AUTH_MODE": "dev", "AUTH_JWT_SECRET": testSecret}, true},
	} {
		cfg := readSettings(config.Map(c.env))
		v, iss, err := newAuth(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if (iss != nil) != c.devIssuer {
			t.Errorf("%v: dev issuer %v", c.env, iss)
		}
		if iss != nil {
			// The login endpoint's tokens must pass the verifier.
			tok, err := iss.Issue(auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Errorf("dev-login token refused: %v", err)
			}
		}
		if err := v.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestStartUpLogsTheAuthMode(t *testing.T) {
	for mode, want := range map[auth.Mode]string{
		auth.ModeNone: "level=WARN msg=\"AUTH_MODE=none: requests under /tracking are not authenticated",
		auth.ModeDev:  "level=WARN msg=\"AUTH_MODE=dev: POST /auth/dev-login",
		auth.ModeJWT:  "level=INFO msg=authentication auth_mode=jwt keys=\"JWKS https://user:xxxxx@idp.example/jwks\"",
	} {
		var buf bytes.Buffer
		cfg := settings{Auth: auth.Settings{Mode: mode, JWKSURL: "https://user:pw@idp.example/jwks"}}
		if mode != auth.ModeJWT {
			cfg.Auth.JWKSURL = ""
		}
		logAuthMode(slog.New(slog.NewTextHandler(&buf, nil)), cfg)
		if !strings.Contains(buf.String(), want) {
			t.Errorf("mode %s logs %q, want %q", mode, buf.String(), want)
		}
	}
}

// TestRunRefusesToStartWithoutKeys: mode jwt with no secret and no JWKS
// stops the gateway before it listens.
func TestRunRefusesToStartWithoutKeys(t *testing.T) {
	_, done := goRun(t, map[string]string{"AUTH_MODE": "jwt"}, nil)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_URL") || !strings.Contains(err.Error(), "AUTH_JWT_SECRET") {
			t.Fatalf("run: %v, want an error naming AUTH_JWKS_URL and AUTH_JWT_SECRET", err)
		}
	case <-time.After(10 * time.Second):
		sigterm(t)
		t.Fatalf("run started in mode jwt without keys (stopped by SIGTERM: %v)", returned(t, done))
	}
}

// TestRunInModeDev runs the gateway as the local platform does: dev-login
// gives a token the gateway's /tracking accepts, with the same secret the
// tracking services would verify it with.
func TestRunInModeDev(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	base, done := goRun(t, map[string]string{"AUTH_MODE": "dev", "AUTH_JWT_SECRET": testSecret}, map[string]string{
		"CONSUL_HTTP_ADDR": "", "TRACKING_REDIS_ADDRS": up.Listener.Addr().String(), "SHUTDOWN_TIMEOUT": "1s",
	})
	client := waitUp(t, base, done)

	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, readBody(t, res)
	}
	if _, body := get("/auth/config", ""); !strings.Contains(body, `"mode":"dev"`) {
		t.Fatalf("/auth/config: %q", body)
	}
	res, err := client.Post(base+"/auth/dev-login", "application/json",
		strings.NewReader(`{"subject":"m-1","role":"manager","teams":["team_one"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	if body := readBody(t, res); res.StatusCode != 200 || json.Unmarshal([]byte(body), &login) != nil || login.Token == "" {
		t.Fatalf("dev-login: %d %q", res.StatusCode, body)
	}
	if status, body := get("/tracking/redis/team_one/positions", login.Token); status != 200 || body != "Bearer "+login.Token {
		t.Fatalf("with the token: %d %q", status, body)
	}
	if status, body := get("/tracking/redis/team_one/positions", ""); status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d %q", status, body)
	}
	sigterm(t)
	if err := returned(t, done); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// deadURL is an http URL on the loopback that nothing answers.
func deadURL(t *testing.T) string { return "http://" + testsupport.FreeAddr(t) + "/jwks" }

// jwksServer serves a JWKS with one ES256 key.
func jwksServer(t *testing.T) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	xy := pub.Bytes()[1:] // uncompressed point: 0x04, X, Y
	b64 := base64.RawURLEncoding.EncodeToString
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]any{{
		"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
		"x": b64(xy[:32]), "y": b64(xy[32:]),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}
