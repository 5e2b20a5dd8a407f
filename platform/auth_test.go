package platform

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Without AUTH_MODE the platform runs in mode dev with a fresh random
// 32-byte secret (hex) for every child, a JWKS URL from the environment
// cleared; with AUTH_MODE the three variables pass through as they are.
// The progress line names the mode and never the secret.
func TestAuthEnv(t *testing.T) {
	env, desc, err := Auth{Secret: "ignored-without-a-mode", JWKSURL: "https://idp.example/jwks"}.env()
	if err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`^AUTH_JWT_SECRET=[0-9a-f]{64}$`)
	if len(env) != 4 || env[0] != "AUTH_MODE=dev" || !secret.MatchString(env[1]) || env[2] != "AUTH_JWKS_URL=" || env[3] != "AUTH_JWT_SECRET_FILE=" {
		t.Fatalf("default env %q: want AUTH_MODE=dev, a 64-hex-digit AUTH_JWT_SECRET, AUTH_JWKS_URL and AUTH_JWT_SECRET_FILE cleared", env)
	}
	if !strings.HasPrefix(desc, "dev") || strings.Contains(desc, strings.TrimPrefix(env[1], "AUTH_JWT_SECRET=")) {
		t.Fatalf("description %q: want the mode, not the secret", desc)
	}
	again, _, _ := Auth{}.env()
	if again[1] == env[1] {
		t.Fatal("two runs got the same secret")
	}

	for _, c := range []struct {
		in   Auth
		want []string
		mode string
	}{
		{Auth{Mode: "none"}, []string{"AUTH_MODE=none"}, "none"},
		{Auth{Mode: "JWT", JWKSURL: "https://idp.example/jwks"}, []string{"AUTH_MODE=JWT", "AUTH_JWKS_URL=https://idp.example/jwks"}, "jwt"},
		{Auth{Mode: "jwt", SecretFile: "/run/secrets/jwt"}, []string{"AUTH_MODE=jwt", "AUTH_JWT_SECRET_FILE=/run/secrets/jwt"}, "jwt"},
		{Auth{Mode: "dev", Secret: "s3cret-s3cret-s3cret-s3cret-s3cret"}, []string{"AUTH_MODE=dev", "AUTH_JWT_SECRET=s3cret-s3cret-s3cret-s3cret-s3cret"}, "dev"},
	} {
		env, desc, err := c.in.env()
		if err != nil || !slices.Equal(env, c.want) || !strings.HasPrefix(desc, c.mode+" (AUTH_MODE from the environment") || strings.Contains(desc, "s3cret") {
			t.Errorf("%+v: env %q, %q, %v; want %q and the mode %s without the secret", c.in, env, desc, err, c.want, c.mode)
		}
	}
	if _, _, err := (Auth{Mode: "oauth"}).env(); err == nil || !strings.Contains(err.Error(), "AUTH_MODE") {
		t.Errorf("AUTH_MODE=oauth: err = %v, want one naming AUTH_MODE", err)
	}
}
