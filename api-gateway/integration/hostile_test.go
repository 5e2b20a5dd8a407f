package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/servicetest"
)

const hostileSecret = "hostile-inputs-test-secret-0123456789abcdef"

// TestHostileInputsThroughGateway sends a table of hostile or broken requests
// through the gateway to a real replica, both in dev auth mode (tokens
// required), and checks each answer.
func TestHostileInputsThroughGateway(t *testing.T) {
	svc := needServices(t)
	c := startClusterWith(t, svc, 1, 0, []string{"AUTH_MODE=dev", "AUTH_JWT_SECRET=" + hostileSecret})
	base := c.gwURL("redis")
	iss, err := auth.NewIssuer([]byte(hostileSecret), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(cl auth.Claims) string {
		tok, err := iss.Issue(cl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	manager := sign(auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_h"}})
	otherManager := sign(auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_x"}})
	worker := sign(auth.Claims{Subject: "w1", Role: auth.RoleWorker, Teams: []string{"team_h"}})
	admin := sign(auth.Claims{Subject: "a", Role: auth.RoleAdmin})
	expired := hs256(t, hostileSecret, jwt.MapClaims{"sub": "m1", "role": "manager", "teams": []string{"team_h"}, "exp": time.Now().Add(-time.Hour).Unix()})
	wrongKey := hs256(t, "another-secret-0123456789abcdef-0123456789", jwt.MapClaims{"sub": "m1", "role": "manager", "teams": []string{"team_h"}, "exp": time.Now().Add(time.Hour).Unix()})
	algNone := unsigned(map[string]any{"sub": "m1", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()})

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
			req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.path == "/team_h" {
				// an SSE stream: only the status matters here
				ctx, cancel := contextWithTimeout(5 * time.Second)
				defer cancel()
				req = req.WithContext(ctx)
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
		req, _ := http.NewRequest("POST", base, &body)
		req.Header.Set("Authorization", "Bearer "+worker)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sum servicetest.IngestSummary
		if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
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

func hs256(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned is a token with "alg":"none" and no signature.
func unsigned(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "."
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
