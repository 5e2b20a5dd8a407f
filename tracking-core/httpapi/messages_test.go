package httpapi_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
)

// signing returns the verifier of a replica that requires tokens and the
// issuer of tokens it accepts (HS256 with the tests' secret).
func signing(t *testing.T) (auth.Verifier, *auth.Issuer) {
	t.Helper()
	v, err := auth.NewHS256(secret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return v, iss
}

// withMessages starts a replica requiring tokens, with a SQLite message store.
func withMessages(t *testing.T) (*servicetest.Replica, *auth.Issuer) {
	t.Helper()
	v, iss := signing(t)
	st, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplicaConfig(t, b, service.Config{API: httpapi.Config{Verifier: v, RecordsPerSecond: -1}, Messages: st})
	return r, iss
}

func TestMessagesRefusals(t *testing.T) {
	r, iss := withMessages(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	ok := `{"to":["w-1"],"body":{"text":"hi"},"ttl":"10m"}`
	for _, c := range []struct {
		name, method, path, tok, body string
		status                        int
		code, mentions                string
	}{
		{"send: worker", "POST", "/messages", worker, ok, 403, "forbidden", ""},
		{"send: other team", "POST", "/messages", other, ok, 403, "forbidden", ""},
		{"send: no token", "POST", "/messages", "", ok, 401, "unauthorized", ""},
		{"send: no to", "POST", "/messages", mgr, `{"body":{}}`, 400, "invalid_field", "to"},
		{"send: to everyone", "POST", "/messages", mgr, `{"to":"everyone","body":{}}`, 400, "invalid_field", "to"},
		{"send: to a number", "POST", "/messages", mgr, `{"to":[1],"body":{}}`, 400, "invalid_field", "to"},
		{"send: empty to", "POST", "/messages", mgr, `{"to":[],"body":{}}`, 400, "invalid_field", "to"},
		{"send: bad worker", "POST", "/messages", mgr, `{"to":["w 1"],"body":{}}`, 400, "invalid_field", "to[0]"},
		{"send: twice", "POST", "/messages", mgr, `{"to":["a","a"],"body":{}}`, 400, "invalid_field", "to[1]"},
		{"send: no body", "POST", "/messages", mgr, `{"to":["a"]}`, 400, "invalid_field", "body"},
		{"send: body not an object", "POST", "/messages", mgr, `{"to":["a"],"body":"hi"}`, 400, "invalid_field", "body"},
		{"send: body too big", "POST", "/messages", mgr, `{"to":["a"],"body":{"t":"` + strings.Repeat("x", 17<<10) + `"}}`, 400, "invalid_field", "body"},
		{"send: bad ttl", "POST", "/messages", mgr, `{"to":["a"],"body":{},"ttl":"soon"}`, 400, "invalid_field", "ttl"},
		{"send: ttl too long", "POST", "/messages", mgr, `{"to":["a"],"body":{},"ttl":"200h"}`, 400, "invalid_field", "ttl"},
		{"send: all of an empty team", "POST", "/messages", mgr, `{"to":"all","body":{}}`, 400, "invalid_field", "to"},
		{"send: unknown field", "POST", "/messages", mgr, `{"to":["a"],"body":{},"urgent":true}`, 400, "invalid_field", "urgent"},
		{"send: not JSON", "POST", "/messages", mgr, `{"to":`, 400, "invalid_json", ""},
		{"get: unknown", "GET", "/messages/m_nope", mgr, "", 404, "not_found", ""},
		{"get: worker", "GET", "/messages/m_nope", worker, "", 403, "forbidden", ""},
	} {
		resp, b := call(t, c.method, r.URL+"/tracking/team_one"+c.path, c.tok, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != c.status || e.Code != c.code || !strings.HasPrefix(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, resp.StatusCode, b, c.status, c.code, c.mentions)
		}
	}
}

// A worker token's connection gets its messages before it sends anything;
// a retried POST with the same id is the same message; the sender is the
// manager; GET has the states.
func TestMessageToTokenWorker(t *testing.T) {
	r, iss := withMessages(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	wtok := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	w := servicetest.MustDialWorker(t, r.WS+"/tracking/ws?access_token="+wtok)
	body := `{"id":"job-1","to":["w-1"],"body":{"job":7},"ttl":"1m"}`
	var ids []string
	for range 2 {
		resp, b := call(t, "POST", r.URL+"/tracking/team_one/messages", mgr, body)
		var a struct{ ID string }
		if resp.StatusCode != 201 || json.Unmarshal(b, &a) != nil {
			t.Fatalf("POST: %d %s", resp.StatusCode, b)
		}
		ids = append(ids, a.ID)
	}
	if ids[0] != "job-1" || ids[1] != "job-1" {
		t.Fatalf("ids %v, want job-1 twice", ids)
	}
	if !w.Wait(5*time.Second, func() bool { return len(w.Dispatches()) >= 1 }) {
		t.Fatalf("the token's worker got no message: %v", w.Answers())
	}
	if err := w.Send(wire.AppendWorkerReply(nil, wire.TypeAck, "job-1")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, b := call(t, "GET", r.URL+"/tracking/team_one/messages/job-1", mgr, "")
		var m struct {
			Sender     string
			States     map[string]int
			Recipients []struct{ WorkerID, State string }
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil {
			t.Fatalf("GET: %d %s", resp.StatusCode, b)
		}
		if m.Sender == "m1" && m.States["acked"] == 1 && len(m.Recipients) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET: %s, want acked by w-1, sent by m1", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(w.Dispatches()); n != 1 {
		t.Fatalf("the retried POST delivered the message %d times", n)
	}
}

func TestMessagesNotConfiguredIs501(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{})
	resp, body := call(t, "POST", r.URL+"/tracking/team_one/messages", "", `{"to":["a"],"body":{}}`)
	if resp.StatusCode != 501 || !strings.Contains(string(body), "not_implemented") {
		t.Fatalf("POST without a store: %d %s", resp.StatusCode, body)
	}
}
