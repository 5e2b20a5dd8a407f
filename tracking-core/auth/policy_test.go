package auth_test

import (
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
)

var (
	worker   = &auth.Claims{Subject: "u-1", Role: auth.RoleWorker, Teams: []string{"team_one"}, WorkerID: "w-1", Expires: t0.Add(time.Hour)}
	worker2  = &auth.Claims{Subject: "w-5", Role: auth.RoleWorker, Teams: []string{"team_one", "team_two"}, WorkerID: "w-5", Expires: t0.Add(time.Hour)}
	manager  = &auth.Claims{Subject: "m-1", Role: auth.RoleManager, Teams: []string{"team_one", "team_two"}, Expires: t0.Add(time.Hour)}
	manyTeam = &auth.Claims{Subject: "m-2", Role: auth.RoleManager, Teams: []string{"a", "b", "c", "d", "e", "f"}, Expires: t0.Add(time.Hour)}
	admin    = &auth.Claims{Subject: "root", Role: auth.RoleAdmin, Expires: t0.Add(time.Hour)}
)

// wantForbidden fails unless err is nil when want is "", else forbidden with
// a message that contains want.
func wantForbidden(t *testing.T, err error, want string) {
	t.Helper()
	if want != "" {
		wantCode(t, err, tracking.CodeForbidden, want)
	} else if err != nil {
		t.Fatal(err)
	}
}

func TestCanPublish(t *testing.T) {
	for _, c := range []struct {
		name           string
		claims         *auth.Claims
		team, workerID string
		want           string // "" for allowed
	}{
		{"worker as itself", worker, "team_one", "w-1", ""},
		{"worker as another worker", worker, "team_one", "w-2", "token is for worker w-1 of team_one, record is for w-2 of team_one"},
		{"worker into another team", worker, "team_two", "w-1", "token is for worker w-1 of team_one, record is for w-1 of team_two"},
		{"worker as its subject, not its worker_id", worker, "team_one", "u-1", "token is for worker w-1 of team_one, record is for u-1 of team_one"},
		{"worker of two teams, either", worker2, "team_two", "w-5", ""},
		{"worker of two teams, a third", worker2, "team_three", "w-5", "token is for worker w-5 of team_one or team_two, record is for w-5 of team_three"},
		{"manager", manager, "team_one", "w-1", "a manager token may not publish positions (record is for w-1 of team_one)"},
		{"admin", admin, "any", "anyone", ""},
		{"anonymous", auth.AnonymousClaims(), "team_one", "w-1", ""},
		{"role-less claims", &auth.Claims{Subject: "x"}, "team_one", "w-1", "a role-less token may not publish"},
	} {
		t.Run(c.name, func(t *testing.T) { wantForbidden(t, c.claims.CanPublish(c.team, c.workerID), c.want) })
	}
	var none *auth.Claims
	wantCode(t, none.CanPublish("t", "w"), tracking.CodeUnauthorized, "no credentials")
}

func TestCanWatch(t *testing.T) {
	for _, c := range []struct {
		name   string
		claims *auth.Claims
		team   string
		want   string
	}{
		{"manager, its team", manager, "team_two", ""},
		{"manager, another team", manager, "team_three", "token is for manager m-1 of team_one and team_two, not of team_three"},
		{"manager of many teams", manyTeam, "z", "token is for manager m-2 of a, b, c, d and 2 more, not of z"},
		{"worker, even its own team", worker, "team_one", "a worker token may not watch teams (asked for team_one)"},
		{"admin", admin, "team_three", ""},
		{"anonymous", auth.AnonymousClaims(), "team_three", ""},
	} {
		t.Run(c.name, func(t *testing.T) { wantForbidden(t, c.claims.CanWatch(c.team), c.want) })
	}
	var none *auth.Claims
	wantCode(t, none.CanWatch("t"), tracking.CodeUnauthorized, "no credentials")
}

func TestRemaining(t *testing.T) {
	for _, c := range []struct {
		now  time.Time
		want time.Duration
	}{
		{t0, time.Hour},
		{t0.Add(59 * time.Minute), time.Minute},
		{t0.Add(time.Hour), 0},
		{t0.Add(2 * time.Hour), 0},
	} {
		if got := manager.Remaining(c.now); got != c.want {
			t.Errorf("Remaining(%v) = %v, want %v", c.now, got, c.want)
		}
	}
	if got := auth.AnonymousClaims().Remaining(t0); got != math.MaxInt64 {
		t.Errorf("anonymous Remaining = %v, want forever", got)
	}
}

func TestRoleValid(t *testing.T) {
	for r, want := range map[auth.Role]bool{"worker": true, "manager": true, "admin": true, "": false, "Admin": false, "root": false} {
		if got := r.Valid(); got != want {
			t.Errorf("Role(%q).Valid() = %v", r, got)
		}
	}
}

func TestClaimsLogValue(t *testing.T) {
	var b strings.Builder
	l := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	var none *auth.Claims
	l.Info("a", "who", worker)
	l.Info("b", "who", manager)
	l.Info("c", "who", auth.AnonymousClaims())
	l.Info("d", "who", none)
	want := `level=INFO msg=a who.sub=u-1 who.role=worker who.worker=w-1 who.teams=[team_one]
level=INFO msg=b who.sub=m-1 who.role=manager who.teams="[team_one team_two]"
level=INFO msg=c who.anonymous=true
level=INFO msg=d who=<none>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
