package auth_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/testsupport"
)

func TestReadSettings(t *testing.T) {
	e := config.Map(nil)
	if s := auth.ReadSettings(e, auth.DefaultMode); s.Mode != auth.ModeJWT || s.Secret != nil || s.JWKSURL != "" || e.Err() != nil {
		t.Fatalf("defaults %+v, %v", s, e.Err())
	}
	e = config.Map(map[string]string{"AUTH_MODE": " Dev ", "AUTH_JWT_SECRET": " " + string(secret), "AUTH_ISSUER": "iss", "AUTH_AUDIENCE": "aud"})
	s := auth.ReadSettings(e, auth.DefaultMode)
	if s.Mode != auth.ModeDev || string(s.Secret) != " "+string(secret) || s.SecretVar != "AUTH_JWT_SECRET" || s.Issuer != "iss" || s.Audience != "aud" || e.Err() != nil {
		t.Fatalf("read %+v, %v", s, e.Err())
	}
	e = config.Map(map[string]string{"AUTH_MODE": "open"})
	auth.ReadSettings(e, auth.DefaultMode)
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), `AUTH_MODE="open": want jwt, dev or none`) {
		t.Fatalf("AUTH_MODE=open: %v", err)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, short := write("good", string(secret)+"\n"), write("short", "tiny\n")
	e := config.Map(map[string]string{"AUTH_JWT_SECRET_FILE": good})
	if got, from := auth.ReadSecret(e); string(got) != string(secret) || from != "AUTH_JWT_SECRET_FILE" || e.Err() != nil {
		t.Fatalf("secret %q from %s, %v", got, from, e.Err())
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AUTH_JWT_SECRET_FILE": good, "AUTH_JWT_SECRET": string(secret)}, "AUTH_JWT_SECRET_FILE: AUTH_JWT_SECRET is set too"},
		{map[string]string{"AUTH_JWT_SECRET_FILE": filepath.Join(dir, "missing")}, "AUTH_JWT_SECRET_FILE: open"},
		{map[string]string{"AUTH_JWT_SECRET_FILE": short}, "holds 4 bytes; want at least 32"},
	} {
		e := config.Map(c.env)
		if got, _ := auth.ReadSecret(e); got != nil || e.Err() == nil || !strings.Contains(e.Err().Error(), c.want) {
			t.Errorf("%v: %q, %v; want an error with %q", c.env, got, e.Err(), c.want)
		}
	}
}

func TestSettingsCheck(t *testing.T) {
	for _, c := range []struct {
		s    auth.Settings
		want string
	}{
		{auth.Settings{Mode: auth.ModeJWT}, "AUTH_MODE=jwt needs AUTH_JWKS_URL"},
		{auth.Settings{Mode: auth.ModeJWT, Secret: secret, SecretVar: "AUTH_JWT_SECRET_FILE", JWKSURL: "https://idp/jwks"}, "AUTH_JWKS_URL and AUTH_JWT_SECRET_FILE are both set"},
		{auth.Settings{Mode: auth.ModeJWT, Secret: []byte("short")}, "AUTH_JWT_SECRET is 5 bytes"},
		{auth.Settings{Mode: auth.ModeDev}, "AUTH_MODE=dev needs AUTH_JWT_SECRET"},
		{auth.Settings{Mode: auth.ModeDev, Secret: secret, JWKSURL: "https://idp/jwks"}, "use AUTH_MODE=jwt"},
		{auth.Settings{Mode: auth.ModeNone, Secret: []byte("short")}, ""},
		{auth.Settings{Mode: auth.ModeJWT, Secret: secret}, ""},
	} {
		err := c.s.Check()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
}

// In JWKS mode an unchecked issuer or audience is warned about once at start;
// a plain-http JWKS URL off the loopback stops the start.
func TestSettingsNewVerifier(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	for _, c := range []struct {
		s    auth.Settings
		warn bool
	}{
		{auth.Settings{Mode: auth.ModeJWT, JWKSURL: srv.URL}, true},
		{auth.Settings{Mode: auth.ModeJWT, JWKSURL: srv.URL, Issuer: "https://idp"}, true},
		{auth.Settings{Mode: auth.ModeJWT, JWKSURL: srv.URL, Issuer: "https://idp", Audience: "tracking"}, false},
		{auth.Settings{Mode: auth.ModeJWT, Secret: secret}, false},
	} {
		logs := &testsupport.SyncBuffer{}
		v, err := c.s.NewVerifier(bg, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Close()
		if got := strings.Count(logs.String(), "without AUTH_ISSUER and AUTH_AUDIENCE"); got != map[bool]int{true: 1, false: 0}[c.warn] {
			t.Errorf("%+v: warned %d times:\n%s", c.s, got, logs)
		}
	}
	_, err := auth.Settings{Mode: auth.ModeJWT, JWKSURL: "http://idp.example/jwks"}.NewVerifier(bg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "AUTH_MODE=jwt: auth: JWKS URL") || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("plain http JWKS: %v", err)
	}
}
