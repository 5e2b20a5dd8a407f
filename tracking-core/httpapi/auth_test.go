package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// authed starts one replica that requires HS256 tokens, and an issuer.
func authed(t *testing.T) (*servicetest.Replica, *auth.Issuer) {
	t.Helper()
	// A tiny clock skew allowance, so that a token is refused as soon as it
	// expires (the default allows 30s).
	v, err := auth.NewHS256(secret, auth.Options{ClockSkew: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{Verifier: v, RecordsPerSecond: -1})
	return r, iss
}

func token(t *testing.T, iss *auth.Issuer, c auth.Claims) string {
	t.Helper()
	tok, err := iss.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRequestsWithoutTokenAre401JSON(t *testing.T) {
	r, _ := authed(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/tracking/team_one"}, {"GET", "/tracking/team_one/positions"},
		{"POST", "/tracking"}, {"GET", "/tracking/ws"}, {"GET", "/tracking/team_one/ws"},
	} {
		req, _ := http.NewRequest(c.method, r.URL+c.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code, Message string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Code != "unauthorized" || body.Message == "" {
			t.Errorf("%s %s: %d %+v, want 401 unauthorized", c.method, c.path, resp.StatusCode, body)
		}
		if resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s %s: no WWW-Authenticate header", c.method, c.path)
		}
	}
}

func TestManagerOfAnotherTeamIs403(t *testing.T) {
	r, iss := authed(t)
	tok := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_two"}})
	for _, path := range []string{"/tracking/team_one", "/tracking/team_one/positions"} {
		resp, err := http.Get(r.URL + path + "?access_token=" + tok)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, resp.StatusCode)
		}
	}
	st, err := servicetest.OpenSSE(r.URL + "/tracking/team_two?access_token=" + tok)
	if err != nil {
		t.Fatalf("own team refused: %v", err)
	}
	st.Close()
}

func TestWorkerPublishingAsAnotherWorkerIsRejected(t *testing.T) {
	r, iss := authed(t)
	wtok := token(t, iss, auth.Claims{Subject: "w1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	mtok := token(t, iss, auth.Claims{Subject: "m", Role: auth.RoleManager, Teams: []string{"team_one"}})
	mgr := servicetest.MustOpenSSE(t, r.URL+"/tracking/team_one?access_token="+mtok)

	w := servicetest.MustDialWorker(t, r.WS+"/tracking/ws?access_token="+wtok)
	must(t, w.Send(servicetest.Rec("team_one", "w2", 1)))
	must(t, w.Send(servicetest.Rec("team_two", "w1", 1)))
	must(t, w.Send(servicetest.Rec("team_one", "w1", 1)))
	answers := w.WaitAnswers(5*time.Second, 2)
	if len(answers) != 2 {
		t.Fatalf("answers %v, want two forbidden errors", answers)
	}
	for _, a := range answers {
		if a["code"] != "forbidden" || !strings.Contains(a["message"].(string), "w1") {
			t.Errorf("answer %v, want forbidden naming the token's worker", a)
		}
	}
	sum, err := servicetest.Post(r.URL+"/tracking?access_token="+wtok, bytes.NewReader(append(servicetest.Rec("team_one", "w9", 1), servicetest.Rec("team_one", "w1", 2)...)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accepted != 1 || sum.Rejected != 1 || sum.Errors[0].Code != "forbidden" {
		t.Fatalf("POST summary %+v, want 1 accepted and 1 forbidden", sum)
	}
	if !mgr.WaitFor(5*time.Second, func(recs []servicetest.Record) bool { return len(recs) >= 2 }) {
		t.Fatalf("manager got %d records, want w1's 2", len(mgr.Records()))
	}
	for _, rec := range mgr.Records() {
		if rec.WorkerID != "w1" {
			t.Fatalf("a record of %s got through", rec.WorkerID)
		}
	}
}

func TestExpiredTokenIs401AndAnOpenStreamEndsAtExpiry(t *testing.T) {
	r, iss := authed(t)
	expires := time.Now().Add(2 * time.Second)
	tok := token(t, iss, auth.Claims{Subject: "m", Role: auth.RoleManager, Teams: []string{"team_one"}, Expires: expires})
	st := servicetest.MustOpenSSE(t, r.URL+"/tracking/team_one?access_token="+tok)
	select {
	case <-st.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("stream still open well after its token expired")
	}
	if ev := st.Events(); len(ev) == 0 || ev[len(ev)-1] != "reconnect" {
		t.Fatalf("events %v, want a reconnect hint at expiry", ev)
	}
	// The stream ends at the expiry instant (exp: expires in whole seconds);
	// the verifier allows 1ms of skew past it. Let that pass before asking again.
	for time.Now().Before(expires.Add(2 * time.Millisecond)) {
		time.Sleep(time.Millisecond) // waiting for the wall clock, not for another goroutine
	}
	resp, err := http.Get(r.URL + "/tracking/team_one/positions?access_token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", resp.StatusCode)
	}
}

func TestNewestConnectionOfAWorkerWins(t *testing.T) {
	r, iss := authed(t)
	tok := token(t, iss, auth.Claims{Subject: "w1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	first := servicetest.MustDialWorker(t, r.WS+"/tracking/ws?access_token="+tok)
	second := servicetest.MustDialWorker(t, r.WS+"/tracking/ws?access_token="+tok)
	answers := first.WaitAnswers(5*time.Second, 1)
	if len(answers) != 1 || answers[0]["type"] != "reconnect" || answers[0]["reason"] != "replaced" {
		t.Fatalf("first connection got %v, want a reconnect hint (replaced)", answers)
	}
	if a := second.Refusals(); len(a) != 0 {
		t.Fatalf("newest connection was told %v", a)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
