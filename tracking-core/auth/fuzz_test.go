package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// FuzzVerify feeds arbitrary strings to an HS256 verifier: it must never
// panic, must fail with a *tracking.Error of CodeUnauthorized, and whatever
// it accepts must be claims the policy can rely on.
func FuzzVerify(f *testing.F) {
	base := workerClaims(t0)
	hs := func(c jwt.MapClaims) string { return sign(f, jwt.SigningMethodHS256, secret, nil, c) }
	valid := hs(base)
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid,
		hs(with(base, "role", "manager", "teams", []string{"team_one", "team_two"})),
		hs(with(base, "role", "admin", "teams", nil, "iss", "x", "aud", []string{"y"}, "nbf", t0.Unix())),
		hs(with(base, "sub", "alice@example.com", "worker_id", "w-9")),
		hs(with(base, "exp", t0.Add(-time.Hour).Unix())),                                         // expired
		hs(with(base, "exp", 1e300)),                                                             // absurd expiry
		hs(with(base, "teams", []any{"a", 1})),                                                   // wrong type
		hs(with(base, "role", "boss")),                                                           // bad role
		parts[0] + "." + strings.Split(hs(with(base, "role", "admin")), ".")[1] + "." + parts[2], // tampered
		unsigned(`{"alg":"none","typ":"JWT"}`, `{"sub":"w-1","role":"admin","exp":9999999999}`),
		sign(f, jwt.SigningMethodHS512, secret, nil, base),
		sign(f, jwt.SigningMethodES256, ecKeys()[0], map[string]any{"kid": "e1"}, base),
		sign(f, jwt.SigningMethodHS256, secret, map[string]any{"crit": []string{"exp"}}, base),
		unsigned(`{"alg":"HS256"}`, `{"exp":{"a":1}}`) + "AAAA",
		"", ".", "..", "a.b.c", "e30.e30.", "Bearer " + valid, strings.Repeat("A", auth.MaxTokenLen+1),
	} {
		f.Add(seed)
	}
	v, err := auth.NewHS256(secret, auth.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(bg, token)
		if err != nil {
			var te *tracking.Error
			if !errors.As(err, &te) || te.Code != tracking.CodeUnauthorized || te.Message == "" {
				t.Fatalf("error %v (%T) is not an unauthorized *tracking.Error", err, err)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if c == nil || c.Subject == "" || !c.Role.Valid() || c.Anonymous || c.Expires.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
		if c.Role == auth.RoleWorker && (c.WorkerID == "" || len(c.Teams) == 0 || c.CanPublish(c.Teams[0], c.WorkerID) != nil) {
			t.Fatalf("accepted worker claims %+v", c)
		}
		for _, team := range c.Teams {
			if tracking.ValidTeam(team) != nil {
				t.Fatalf("accepted invalid team %q", team)
			}
		}
	})
}
