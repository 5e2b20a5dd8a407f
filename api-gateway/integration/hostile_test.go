package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

const hostileSecret = "hostile-inputs-test-secret-0123456789abcdef"

// TestHostileInputsThroughGateway sends a table of hostile or broken requests
// through the gateway to a real replica, both in dev auth mode (tokens
// required), and checks each answer.
func TestHostileInputsThroughGateway(t *testing.T) {
	svc := needServices(t)
	c := startCluster(t, svc, 1, 0, []string{"AUTH_MODE=dev", "AUTH_JWT_SECRET=" + hostileSecret})
	base := c.gwURL("redis")
	sign := func(secret string, cl auth.Claims) string {
		t.Helper()
		iss, err := auth.NewIssuer([]byte(secret), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.Issue(cl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	teamH := []string{"team_h"}
	manager := sign(hostileSecret, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: teamH})
	otherManager := sign(hostileSecret, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_x"}})
	worker := sign(hostileSecret, auth.Claims{Subject: "w1", Role: auth.RoleWorker, Teams: teamH})
	admin := sign(hostileSecret, auth.Claims{Subject: "a", Role: auth.RoleAdmin})
	expired := sign(hostileSecret, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: teamH, Expires: time.Now().Add(-time.Hour)})
	wrongKey := sign("another-secret-0123456789abcdef-0123456789", auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: teamH})
	// A token with "alg":"none" and no signature.
	b64 := base64.RawURLEncoding.EncodeToString
	algNone := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(fmt.Appendf(nil, `{"sub":"m1","role":"admin","exp":%d}`, time.Now().Add(time.Hour).Unix())) + "."

	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/team_h/positions", "", "", 401, "unauthorized"},
		{"garbage token", "GET", "/team_h/positions", "not.a.jwt", "", 401, "unauthorized"},
		{"token signed with another key", "GET", "/team_h/positions", wrongKey, "", 401, "unauthorized"},
		{"alg none", "GET", "/team_h/positions", algNone, "", 401, "unauthorized"},
		{"expired token", "GET", "/team_h/positions", expired, "", 401, "unauthorized"},
		{"manager of another team", "GET", "/team_h/positions", otherManager, "", 403, "forbidden"},
		{"manager of another team, SSE", "GET", "/team_h", otherManager, "", 403, "forbidden"},
		{"worker watching", "GET", "/team_h/positions", worker, "", 403, "forbidden"},
		{"own team", "GET", "/team_h/positions", manager, "", 200, ""},
		{"team with forbidden characters", "GET", "/te%20am%21/positions", admin, "", 400, "invalid_field"},
		{"path traversal", "GET", "/../../etc/passwd", admin, "", 404, "not_found"},
		{"encoded path traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", admin, "", 404, "not_found"},
		{"POST without token", "POST", "", "", string(servicetest.Rec("team_h", "w1", 1)), 401, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A 5s bound: an SSE stream would go on; only its status matters.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.status)
			}
			if tc.code == "" {
				return
			}
			var e struct{ Code, Message string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code != tc.code || e.Message == "" {
				t.Fatalf("body %+v (%v), want code %s with a message", e, err, tc.code)
			}
		})
	}

	t.Run("records", func(t *testing.T) {
		var body bytes.Buffer
		for _, rec := range [][]byte{
			servicetest.Rec("team_h", "w1", 1),
			servicetest.Rec("team_h", "w2", 1), // another worker
			servicetest.Rec("team_x", "w1", 2), // another team
			[]byte(`{"workerId":"w1","team":`),
			bytes.Replace(servicetest.Rec("team_h", "w1", 3), []byte(`"latitude":`), []byte(`"latitude":91,"x":`), 1),
			bytes.Replace(servicetest.Rec("team_h", "w1", 4), []byte(`"id":`), []byte(`"pad":"`+strings.Repeat("x", 70<<10)+`","id":`), 1),
			servicetest.Rec("team_h", "w1", 5),
		} {
			body.Write(rec)
			body.WriteByte('\n')
		}
		sum, err := apiclient.MustNew(base, apiclient.Config{Token: worker}).Post(t.Context(), &body)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"forbidden", "forbidden", "invalid_json", "invalid_field", "too_large"}
		var got []string
		for _, e := range sum.Errors {
			got = append(got, e.Code)
		}
		if sum.Accepted != 2 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("summary accepted %d errors %v, want 2 accepted and %v", sum.Accepted, got, want)
		}
	})

	t.Run("WebSocket worker as another worker", func(t *testing.T) {
		w, err := servicetest.DialWorker(c.gwWS("redis") + "/ws?access_token=" + worker)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Send(servicetest.Rec("team_h", "w9", 1)); err != nil {
			t.Fatal(err)
		}
		a := w.WaitAnswers(5*time.Second, 1)
		if len(a) != 1 || a[0]["code"] != "forbidden" {
			t.Fatalf("answers %v, want one forbidden", a)
		}
	})

	t.Run("tokens never logged", func(t *testing.T) {
		for _, p := range c.procs() {
			b, err := os.ReadFile(p.logPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{manager, worker, admin, otherManager} {
				sig := tok[strings.LastIndexByte(tok, '.')+1:]
				if bytes.Contains(b, []byte(sig)) {
					t.Fatalf("%s's log contains a token", p.name)
				}
			}
		}
	})
}
