package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

func TestIssuerRoundTrip(t *testing.T) {
	iss, err := auth.NewIssuer(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v := newHS256(t, auth.Options{Now: time.Now})
	for _, c := range []struct {
		name string
		in   auth.Claims
		want auth.Claims
	}{
		{"worker", auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}},
			auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-1"}},
		{"worker with a worker id", auth.Claims{Subject: "alice@example.com", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-2"},
			auth.Claims{Subject: "alice@example.com", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-2"}},
		{"manager", auth.Claims{Subject: "bob", Role: auth.RoleManager, Teams: []string{"team_one", "team_two"}, WorkerID: "ignored"},
			auth.Claims{Subject: "bob", Role: auth.RoleManager, Teams: []string{"team_one", "team_two"}}},
		{"admin", auth.Claims{Subject: "root", Role: auth.RoleAdmin},
			auth.Claims{Subject: "root", Role: auth.RoleAdmin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			tok, err := iss.Issue(c.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(bg, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != c.want.Subject || got.Role != c.want.Role || !slices.Equal(got.Teams, c.want.Teams) || got.WorkerID != c.want.WorkerID {
				t.Fatalf("claims %+v, want %+v", *got, c.want)
			}
			if exp := got.Expires; exp.Before(before.Add(time.Hour)) || exp.After(time.Now().Add(time.Hour)) {
				t.Fatalf("expires %v, want an hour from now", exp)
			}
		})
	}
}

func TestIssuerExplicitExpiry(t *testing.T) {
	iss, err := auth.NewIssuer(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}, Expires: t0.Add(-time.Hour)}
	tok, err := iss.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newHS256(t, auth.Options{}).Verify(bg, tok)
	wantCode(t, err, tracking.CodeUnauthorized, "token expired at 2026-11-22T12:21:04Z (1h0m0s ago)")

	c.Expires = time.Time{}
	tok, err = iss.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newHS256(t, auth.Options{Now: time.Now}).Verify(bg, tok)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(got.Expires); d < auth.DefaultTokenTTL-time.Minute || d > auth.DefaultTokenTTL {
		t.Fatalf("default TTL gave expiry in %v", d)
	}
}

func TestIssuerRefuses(t *testing.T) {
	iss, err := auth.NewIssuer(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		in    auth.Claims
		field string
		want  string
	}{
		{"no subject", auth.Claims{Role: auth.RoleAdmin}, "sub", "is missing"},
		{"no role", auth.Claims{Subject: "a"}, "role", "is missing"},
		{"bad role", auth.Claims{Subject: "a", Role: "boss"}, "role", `"boss" is not one of worker, manager, admin`},
		{"worker without team", auth.Claims{Subject: "w-1", Role: auth.RoleWorker}, "teams", "a worker needs at least one team"},
		{"bad team", auth.Claims{Subject: "m", Role: auth.RoleManager, Teams: []string{"ok", "not ok"}}, "teams[1]", `"not ok": may contain only`},
		{"bad worker id", auth.Claims{Subject: "a b", Role: auth.RoleWorker, Teams: []string{"t"}}, "worker_id (defaulting to sub)", "is not a valid workerId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := iss.Issue(c.in)
			wantCode(t, err, tracking.CodeBadRequest, c.want)
			if f := err.(*tracking.Error).Field; f != c.field {
				t.Fatalf("field %q, want %q", f, c.field)
			}
		})
	}
	if _, err := iss.Issue(*auth.AnonymousClaims()); err == nil {
		t.Error("anonymous claims issued")
	}
	if _, err := auth.NewIssuer([]byte("short"), time.Hour); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short secret: %v", err)
	}
	if _, err := auth.NewIssuer(secret, -time.Second); err == nil {
		t.Error("negative TTL accepted")
	}
}

func TestIssueDoesNotAliasTeams(t *testing.T) {
	iss, _ := auth.NewIssuer(secret, time.Hour)
	teams := []string{"team_one"}
	c := auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: teams}
	if _, err := iss.Issue(c); err != nil {
		t.Fatal(err)
	}
	if c.WorkerID != "" || teams[0] != "team_one" {
		t.Fatal("Issue changed its argument")
	}
}
