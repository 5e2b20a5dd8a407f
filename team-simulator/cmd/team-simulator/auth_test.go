package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

const secret = "8f2c0c4b5d7e9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b" // 64 hex digits, as the platform makes

// AUTH_JWT_SECRET (or -auth-secret) signs tokens; else AUTH_TOKEN (or
// -auth-token) is sent as it is; else nothing. Flags win over variables,
// a secret over a token, in both modes.
func TestAuthSettings(t *testing.T) {
	for _, c := range []struct {
		name         string
		args         []string
		vars         map[string]string
		secret, tok  string
		errMentions  string
		warnMentions string
	}{
		{name: "none"},
		{name: "secret from env", vars: map[string]string{"AUTH_JWT_SECRET": secret}, secret: secret},
		{name: "secret flag wins", args: []string{"-auth-secret", secret + "-flag"}, vars: map[string]string{"AUTH_JWT_SECRET": secret}, secret: secret + "-flag"},
		{name: "token", vars: map[string]string{"AUTH_TOKEN": "eyJ.x.y"}, tok: "eyJ.x.y"},
		{name: "token flag", args: []string{"-auth-token", "eyJ.f.g"}, vars: map[string]string{"AUTH_TOKEN": "eyJ.x.y"}, tok: "eyJ.f.g"},
		{name: "secret wins over token", vars: map[string]string{"AUTH_JWT_SECRET": secret, "AUTH_TOKEN": "eyJ.x.y"}, secret: secret},
		{name: "short secret", vars: map[string]string{"AUTH_JWT_SECRET": "short"}, errMentions: "AUTH_JWT_SECRET"},
		{name: "bad mode", vars: map[string]string{"AUTH_MODE": "oauth"}, errMentions: "AUTH_MODE"},
		{name: "mode without credentials", vars: map[string]string{"AUTH_MODE": "dev"}, warnMentions: "neither AUTH_JWT_SECRET nor AUTH_TOKEN"},
		{name: "mode none", vars: map[string]string{"AUTH_MODE": "none"}},
		{name: "mode with secret", vars: map[string]string{"AUTH_MODE": "JWT", "AUTH_JWT_SECRET": secret}, secret: secret},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, com, err := workerConfig(c.args, envOf(c.vars), io.Discard)
			lcfg, _, _, lerr := loadConfig(c.args, envOf(c.vars), io.Discard)
			if c.errMentions != "" {
				if err == nil || !strings.Contains(err.Error(), c.errMentions) || lerr == nil {
					t.Fatalf("err = %v (load: %v), want one naming %s", err, lerr, c.errMentions)
				}
				return
			}
			if err != nil || lerr != nil {
				t.Fatal(err, lerr)
			}
			for mode, a := range map[string][2]string{
				"workers": {string(cfg.Auth.Secret), cfg.Auth.Token},
				"load":    {string(lcfg.Auth.Secret), lcfg.Auth.Token},
			} {
				if a[0] != c.secret || (c.secret == "" && a[1] != c.tok) || (c.secret != "" && a[1] != "") {
					t.Errorf("%s: secret %q token %q, want %q %q", mode, a[0], a[1], c.secret, c.tok)
				}
			}
			w := com.authWarning(cfg.Auth)
			if (c.warnMentions == "") != (w == "") || !strings.Contains(w, c.warnMentions) {
				t.Errorf("warning %q, want one mentioning %q", w, c.warnMentions)
			}
		})
	}
}

// -h never prints the secret or the token (flag defaults would).
func TestAuthHelpHidesSecrets(t *testing.T) {
	for _, run := range []func(io.Writer) error{
		func(w io.Writer) error {
			_, _, err := workerConfig([]string{"-h"}, envOf(map[string]string{"AUTH_JWT_SECRET": secret, "AUTH_TOKEN": "eyJ.sec.ret"}), w)
			return err
		},
		func(w io.Writer) error {
			_, _, _, err := loadConfig([]string{"-h"}, envOf(map[string]string{"AUTH_JWT_SECRET": secret, "AUTH_TOKEN": "eyJ.sec.ret"}), w)
			return err
		},
	} {
		var out bytes.Buffer
		_ = run(&out)
		if !strings.Contains(out.String(), "-auth-secret") || !strings.Contains(out.String(), "AUTH_TOKEN") {
			t.Fatalf("help does not list the auth flags:\n%s", out.String())
		}
		if strings.Contains(out.String(), secret) || strings.Contains(out.String(), "eyJ.sec.ret") {
			t.Fatalf("help shows a credential:\n%s", out.String())
		}
	}
}
