package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamtrack/tracking-core/auth"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]auth.Mode{"": auth.ModeJWT, "jwt": auth.ModeJWT, " JWT ": auth.ModeJWT, "dev": auth.ModeDev, "None": auth.ModeNone} {
		if got, err := auth.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"off", "true", "jwks"} {
		if _, err := auth.ParseMode(in); err == nil || !strings.Contains(err.Error(), "want jwt, dev or none") {
			t.Errorf("ParseMode(%q): %v", in, err)
		}
	}
}

func TestNewVerifier(t *testing.T) {
	r := rsaKeys()
	srv := newJWKSServer(t, rsaJWK("r1", &r[0].PublicKey))
	now := func() time.Time { return t0 }
	hsToken := sign(t, jwt.SigningMethodHS256, secret, nil, workerClaims(t0))
	rsToken := sign(t, jwt.SigningMethodRS256, r[0], map[string]any{"kid": "r1"}, workerClaims(t0))
	for _, c := range []struct {
		name    string
		mode    auth.Mode
		secret  []byte
		url     string
		opts    auth.Options
		accepts []string
		refuses []string
		wantErr string
	}{
		{name: "jwt with a JWKS URL", mode: auth.ModeJWT, url: srv.URL, accepts: []string{rsToken}, refuses: []string{hsToken, ""}},
		{name: "jwt with a secret", mode: auth.ModeJWT, secret: secret, accepts: []string{hsToken}, refuses: []string{rsToken, ""}},
		{name: "jwt with a short secret", mode: auth.ModeJWT, secret: []byte("x"), wantErr: "at least 32"},
		{name: "jwt with neither", mode: auth.ModeJWT, wantErr: "needs a JWKS URL (RS256/ES256 keys of an identity provider) or an HS256 secret; neither is set"},
		{name: "jwt with both", mode: auth.ModeJWT, secret: secret, url: srv.URL, wantErr: "both a JWKS URL and an HS256 secret are set"},
		{name: "jwt with a JWKS that fails", mode: auth.ModeJWT, url: "ftp://idp/jwks", wantErr: "want an http or https URL"},
		{name: "dev", mode: auth.ModeDev, secret: secret, accepts: []string{hsToken}, refuses: []string{rsToken, ""}},
		{name: "dev ignores issuer and audience", mode: auth.ModeDev, secret: secret, opts: auth.Options{Issuer: "https://idp", Audience: "x"}, accepts: []string{hsToken}},
		{name: "dev without secret", mode: auth.ModeDev, wantErr: "needs the HS256 secret the gateway's login endpoint signs with"},
		{name: "dev with a JWKS URL", mode: auth.ModeDev, secret: secret, url: srv.URL, wantErr: "use mode jwt for it"},
		{name: "none", mode: auth.ModeNone, accepts: []string{"", "garbage", hsToken}},
		{name: "unknown", mode: "open", wantErr: `unknown mode "open"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Now = now
			v, err := auth.NewVerifier(bg, c.mode, c.secret, c.url, c.opts)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := v.Close(); err != nil {
					t.Error(err)
				}
			}()
			for _, tok := range c.accepts {
				got, err := v.Verify(bg, tok)
				if err != nil {
					t.Fatalf("refused %.20q: %v", tok, err)
				}
				if anon := c.mode == auth.ModeNone; got.Anonymous != anon || (anon && got.Role != auth.RoleAdmin) {
					t.Fatalf("claims %+v", *got)
				}
			}
			for _, tok := range c.refuses {
				if _, err := v.Verify(bg, tok); err == nil {
					t.Fatalf("accepted %.20q", tok)
				}
			}
		})
	}
}

func TestAnonymousClaimsAreFresh(t *testing.T) {
	v, err := auth.NewVerifier(bg, auth.ModeNone, nil, "", auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := v.Verify(bg, "")
	a.Role = auth.RoleWorker
	b, _ := v.Verify(bg, "")
	if b.Role != auth.RoleAdmin || !b.Anonymous || b.Subject != "anonymous" {
		t.Fatalf("claims %+v", *b)
	}
}
