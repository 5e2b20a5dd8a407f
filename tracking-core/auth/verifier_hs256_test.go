package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

// newHS256 is a verifier of secret whose clock stands at t0 unless opts says otherwise.
func newHS256(t testing.TB, opts auth.Options) auth.Verifier {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	v, err := auth.NewHS256(secret, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHS256Accepts(t *testing.T) {
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secret, nil, c) }
	base := workerClaims(t0)
	w1 := auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-1", Expires: t0.Add(time.Hour)}
	for _, c := range []struct {
		name  string
		opts  auth.Options
		token string
		want  auth.Claims
	}{
		{"worker, worker_id from sub", auth.Options{}, hs(base), w1},
		{"worker with its own worker_id", auth.Options{}, hs(with(base, "sub", "alice@example.com", "worker_id", "w-9")),
			auth.Claims{Subject: "alice@example.com", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-9", Expires: t0.Add(time.Hour)}},
		{"manager of two teams; worker_id dropped", auth.Options{}, hs(with(base, "sub", "m@x", "role", "manager", "teams", []string{"team_one", "team_two"}, "worker_id", "w-3")),
			auth.Claims{Subject: "m@x", Role: auth.RoleManager, Teams: []string{"team_one", "team_two"}, Expires: t0.Add(time.Hour)}},
		{"teams as a single string", auth.Options{}, hs(with(base, "teams", "team_one")), w1},
		{"admin without teams", auth.Options{}, hs(with(base, "role", "admin", "teams", nil)),
			auth.Claims{Subject: "w-1", Role: auth.RoleAdmin, Expires: t0.Add(time.Hour)}},
		{"expired within the skew", auth.Options{}, hs(with(base, "exp", t0.Add(-29*time.Second).Unix())),
			auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-1", Expires: t0.Add(-29 * time.Second)}},
		{"nbf and iat within the skew", auth.Options{}, hs(with(base, "nbf", t0.Add(29*time.Second).Unix(), "iat", t0.Add(29*time.Second).Unix())), w1},
		{"issuer and audience when asked", auth.Options{Issuer: "https://idp", Audience: "tracking"}, hs(with(base, "iss", "https://idp", "aud", []string{"other", "tracking"})), w1},
		{"unknown claims and a kid are ignored", auth.Options{}, sign(t, jwt.SigningMethodHS256, secret, map[string]any{"kid": "k1"}, with(base, "scope", "x y", "jti", "1")), w1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := newHS256(t, c.opts).Verify(bg, c.token)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != c.want.Subject || got.Role != c.want.Role || !slices.Equal(got.Teams, c.want.Teams) ||
				got.WorkerID != c.want.WorkerID || !got.Expires.Equal(c.want.Expires) || got.Anonymous {
				t.Fatalf("claims\n%+v\nwant\n%+v", *got, c.want)
			}
		})
	}
}

func TestHS256Refuses(t *testing.T) {
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secret, nil, c) }
	base := workerClaims(t0)
	valid := hs(base)
	parts := strings.Split(valid, ".")
	otherSecret := []byte("another-secret-another-secret-another-secret")
	for _, c := range []struct {
		name  string
		opts  auth.Options
		token string
		want  string
	}{
		{"missing", auth.Options{}, "", "missing token"},
		{"too long", auth.Options{}, valid + strings.Repeat("A", auth.MaxTokenLen), "more than the 8192 allowed"},
		{"one segment", auth.Options{}, "abc", "malformed token: token contains an invalid number of segments"},
		{"four segments", auth.Options{}, valid + ".x", "malformed token"},
		{"header not base64", auth.Options{}, "!!." + parts[1] + "." + parts[2], "malformed token: could not base64 decode header"},
		{"header not JSON", auth.Options{}, unsigned("nope", "{}") + "x", "malformed token: could not JSON decode header"},
		{"claims not JSON", auth.Options{}, unsigned(`{"alg":"HS256"}`, "[") + "x", "malformed token: could not JSON decode claim"},
		{"exp of the wrong type", auth.Options{}, hs(with(base, "exp", "tomorrow")), "malformed token"},
		{"teams of the wrong type", auth.Options{}, hs(with(base, "teams", []int{1})), "malformed token"},
		{"signature not base64", auth.Options{}, parts[0] + "." + parts[1] + ".!!", "malformed token: could not base64 decode signature"},
		{"alg none", auth.Options{}, unsigned(`{"alg":"none","typ":"JWT"}`, `{"sub":"w-1","role":"admin","exp":9999999999}`), "unsigned token (alg none) refused"},
		{"alg NONE", auth.Options{}, unsigned(`{"alg":"NONE"}`, `{"sub":"w-1","role":"admin","exp":9999999999}`), "unsigned token (alg none) refused"},
		{"no alg", auth.Options{}, unsigned(`{"typ":"JWT"}`, `{}`) + "x", "token header has no alg"},
		{"unknown alg", auth.Options{}, unsigned(`{"alg":"XS999"}`, `{}`) + "x", `wrong algorithm "XS999": this service accepts HS256`},
		{"HS512", auth.Options{}, sign(t, jwt.SigningMethodHS512, secret, nil, base), `wrong algorithm "HS512"`},
		{"RS256", auth.Options{}, sign(t, jwt.SigningMethodRS256, rsaKeys()[0], nil, base), `wrong algorithm "RS256"`},
		{"ES256", auth.Options{}, sign(t, jwt.SigningMethodES256, ecKeys()[0], nil, base), `wrong algorithm "ES256"`},
		{"another secret", auth.Options{}, sign(t, jwt.SigningMethodHS256, otherSecret, nil, base), "bad signature"},
		{"claims changed", auth.Options{}, parts[0] + "." + strings.Split(hs(with(base, "role", "admin")), ".")[1] + "." + parts[2], "bad signature"},
		{"signature cut", auth.Options{}, valid[:len(valid)-3], "bad signature"},
		{"signature cut mid-character", auth.Options{}, valid[:len(valid)-1], "malformed token: could not base64 decode signature"},
		{"crit header", auth.Options{}, sign(t, jwt.SigningMethodHS256, secret, map[string]any{"crit": []string{"exp"}}, base), "crit header"},
		{"expired", auth.Options{}, hs(with(base, "exp", t0.Add(-time.Minute).Unix())), "token expired at 2026-11-22T13:20:04Z (1m0s ago)"},
		{"expired, no skew", auth.Options{ClockSkew: -1}, hs(with(base, "exp", t0.Add(-time.Second).Unix())), "token expired at 2026-11-22T13:21:03Z (1s ago)"},
		{"no exp", auth.Options{}, hs(with(base, "exp", nil)), "token has no expiry (exp)"},
		{"not yet valid", auth.Options{}, hs(with(base, "nbf", t0.Add(time.Hour).Unix())), "token not valid before 2026-11-22T14:21:04Z (1h0m0s from now)"},
		{"issued in the future", auth.Options{}, hs(with(base, "iat", t0.Add(2*time.Minute).Unix())), "token issued in the future"},
		{"no issuer", auth.Options{Issuer: "https://idp"}, valid, `token has no issuer (iss), want "https://idp"`},
		{"wrong issuer", auth.Options{Issuer: "https://idp"}, hs(with(base, "iss", "https://evil")), `token issuer "https://evil" is not "https://idp"`},
		{"wrong audience", auth.Options{Audience: "tracking"}, hs(with(base, "aud", "billing")), `token audience (aud) does not include "tracking"`},
		{"no audience", auth.Options{Audience: "tracking"}, valid, `token audience (aud) does not include "tracking"`},
		{"no sub", auth.Options{}, hs(with(base, "sub", nil)), "token claim sub is missing"},
		{"long sub", auth.Options{}, hs(with(base, "sub", strings.Repeat("s", 257))), "token claim sub is 257 bytes long"},
		{"no role", auth.Options{}, hs(with(base, "role", nil)), "token claim role is missing (want worker, manager or admin)"},
		{"bad role", auth.Options{}, hs(with(base, "role", "boss")), `token claim role "boss" is not one of worker, manager, admin`},
		{"long role, clipped at a rune", auth.Options{}, hs(with(base, "role", "r"+strings.Repeat("é", 40))), `token claim role "r` + strings.Repeat("é", 31) + `..." is not one of`},
		{"role in capitals", auth.Options{}, hs(with(base, "role", "Admin")), `token claim role "Admin" is not one of`},
		{"invalid team", auth.Options{}, hs(with(base, "teams", []string{"team_one", "team two"})), `token claim teams[1] "team two": may contain only letters, digits and _.:- (found " ")`},
		{"empty team", auth.Options{}, hs(with(base, "teams", []string{""})), `token claim teams[0] "": is required`},
		{"worker without teams", auth.Options{}, hs(with(base, "teams", nil)), "token claim teams is missing: a worker needs at least one team"},
		{"manager without teams", auth.Options{}, hs(with(base, "role", "manager", "teams", []string{})), "token claim teams is missing: a manager needs at least one team"},
		{"invalid worker_id", auth.Options{}, hs(with(base, "worker_id", "w 1")), `token claim worker_id "w 1" is not a valid workerId`},
		{"sub that is no workerId", auth.Options{}, hs(with(base, "sub", "alice@example.com")), `token claim worker_id (defaulting to sub) "alice@example.com" is not a valid workerId`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := newHS256(t, c.opts).Verify(bg, c.token)
			if err == nil {
				t.Fatalf("accepted: %+v", *got)
			}
			if got != nil {
				t.Fatalf("claims %+v returned with error %v", *got, err)
			}
			wantCode(t, err, tracking.CodeUnauthorized, c.want)
		})
	}
}

func TestNewHS256RefusesShortSecrets(t *testing.T) {
	for _, s := range [][]byte{nil, []byte("short"), make([]byte, auth.MinSecretLen-1)} {
		if _, err := auth.NewHS256(s, auth.Options{}); err == nil || !strings.Contains(err.Error(), "at least 32") {
			t.Errorf("secret of %d bytes: err %v", len(s), err)
		}
	}
	if _, err := auth.NewHS256(make([]byte, auth.MinSecretLen), auth.Options{}); err != nil {
		t.Errorf("secret of %d bytes: %v", auth.MinSecretLen, err)
	}
	if _, err := auth.NewHS256(secret, auth.Options{FetchTimeout: -time.Second}); err == nil {
		t.Error("negative FetchTimeout accepted")
	}
}

func TestHS256CopiesTheSecret(t *testing.T) {
	s := append([]byte(nil), secret...)
	v, err := auth.NewHS256(s, auth.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	s[0] ^= 0xff
	if _, err := v.Verify(bg, sign(t, jwt.SigningMethodHS256, secret, nil, workerClaims(t0))); err != nil {
		t.Fatalf("changing the caller's slice changed the verifier: %v", err)
	}
}
