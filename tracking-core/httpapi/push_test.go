package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
)

const testVAPIDPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"

// withPush starts a replica requiring tokens, with a SQLite alerting store
// and Web Push on; keyErr, when set, is what reading the key fails with.
func withPush(t *testing.T, keyErr error) (*servicetest.Replica, *auth.Issuer, alerting.Store) {
	t.Helper()
	v, iss := signing(t)
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := func(context.Context) (string, error) { return testVAPIDPublic, keyErr }
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{Verifier: v, RecordsPerSecond: -1,
		Alerts: &httpapi.Alerts{Store: st, PushKey: key}})
	return r, iss, st
}

// subscriptionJSON is PushSubscription.toJSON() of a browser, with edits.
func subscriptionJSON(t *testing.T, endpoint string, edit func(m map[string]any)) string {
	p256dh, auth := alertingtest.PushKeys(t)
	m := map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]any{"p256dh": p256dh, "auth": auth}}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestPushSubscriptionsCRUD(t *testing.T) {
	r, iss, st := withPush(t, nil)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	admin := token(t, iss, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	base := r.URL + "/tracking/team_one/push"

	resp, b := call(t, "GET", base+"/key", mgr, "")
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"publicKey":"`+testVAPIDPublic+`"}` {
		t.Fatalf("key: %d %s", resp.StatusCode, b)
	}
	body := subscriptionJSON(t, "https://fcm.googleapis.com/fcm/send/abc:def", nil)
	resp, b = call(t, "POST", base+"/subscriptions", mgr, body)
	var created struct {
		ID, Endpoint, Subject string
		Kinds                 []string
	}
	if resp.StatusCode != 201 || json.Unmarshal(b, &created) != nil || !strings.HasPrefix(created.ID, "ps_") ||
		created.Subject != "m1" || created.Kinds == nil || resp.Header.Get("Location") != "subscriptions/"+created.ID {
		t.Fatalf("subscribe: %d %s (Location %q)", resp.StatusCode, b, resp.Header.Get("Location"))
	}
	if strings.Contains(string(b), "p256dh") || strings.Contains(string(b), "auth") {
		t.Fatalf("the answer shows the keys: %s", b)
	}
	// Subscribing again, by another manager, with kinds: 200, the same id.
	resp, b = call(t, "POST", base+"/subscriptions", admin, subscriptionJSON(t, "https://fcm.googleapis.com/fcm/send/abc:def",
		func(m map[string]any) { m["kinds"] = []string{"enter"} }))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"`+created.ID+`"`) || !strings.Contains(string(b), `"kinds":["enter"]`) ||
		!strings.Contains(string(b), `"subject":"root"`) {
		t.Fatalf("subscribe again: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", base+"/subscriptions/"+created.ID, mgr, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), created.Endpoint) {
		t.Fatalf("get: %d %s", resp.StatusCode, b)
	}

	// Webhooks and push subscriptions are listed and addressed apart.
	hook, err := st.PutWebhook(context.Background(), alerting.Webhook{Team: "team_one", URL: "https://hooks.example.com/x", Secret: "0123456789abcdef", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, b = call(t, "GET", base+"/subscriptions", mgr, "")
	if resp.StatusCode != 200 || strings.Count(string(b), `"id"`) != 1 || !strings.Contains(string(b), created.ID) {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", r.URL+"/tracking/team_one/webhooks", mgr, "")
	if resp.StatusCode != 200 || strings.Count(string(b), `"id"`) != 1 || !strings.Contains(string(b), hook.ID) {
		t.Fatalf("webhooks: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/webhooks/" + created.ID}, {"PUT", "/webhooks/" + created.ID}, {"DELETE", "/webhooks/" + created.ID},
		{"GET", "/webhooks/" + created.ID + "/dead-letters"}, {"POST", "/webhooks/" + created.ID + "/dead-letters/replay"},
		{"GET", "/push/subscriptions/" + hook.ID}, {"DELETE", "/push/subscriptions/" + hook.ID},
		{"GET", "/push/subscriptions/" + hook.ID + "/dead-letters"},
	} {
		body := ""
		if c.method == "PUT" {
			body = `{"url":"https://hooks.example.com/y"}`
		}
		if resp, b := call(t, c.method, r.URL+"/tracking/team_one"+c.path, mgr, body); resp.StatusCode != 404 {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, resp.StatusCode, b)
		}
	}

	// Dead letters of a push subscription.
	if err := st.AppendEvents(context.Background(), []alerting.Event{alertingtest.Event("team_one", "w-1", "e1", "enter", time.Now())}); err != nil {
		t.Fatal(err)
	}
	ds, err := st.Lease(context.Background(), alerting.LeaseRequest{Now: time.Now(), For: time.Minute, Max: 10})
	if err != nil || len(ds) != 2 {
		t.Fatalf("lease: %+v %v", ds, err)
	}
	for _, d := range ds {
		if err := st.Failed(context.Background(), d, time.Time{}, "HTTP 413"); err != nil {
			t.Fatal(err)
		}
	}
	resp, b = call(t, "GET", base+"/subscriptions/"+created.ID+"/dead-letters?limit=5", mgr, "")
	if resp.StatusCode != 200 || strings.Count(string(b), `"lastError":"HTTP 413"`) != 1 || !strings.Contains(string(b), `"id":"e1"`) {
		t.Fatalf("dead letters: %d %s", resp.StatusCode, b)
	}

	// Another team's manager sees nothing of it.
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	if resp, b := call(t, "GET", r.URL+"/tracking/team_two/push/subscriptions/"+created.ID, other, ""); resp.StatusCode != 404 {
		t.Fatalf("another team's manager reads the subscription: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "DELETE", base+"/subscriptions/"+created.ID, mgr, ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, _ := call(t, "GET", base+"/subscriptions/"+created.ID, mgr, ""); resp.StatusCode != 404 {
		t.Fatalf("get after delete: %d", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", base+"/subscriptions/"+created.ID+"/dead-letters", mgr, ""); resp.StatusCode != 404 {
		t.Fatalf("dead letters after delete: %d", resp.StatusCode)
	}
}

// A bad body is a 400 naming the field, as in the body (keys.p256dh).
func TestPushSubscribeRefusals(t *testing.T) {
	r, iss, _ := withPush(t, nil)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	const ep = "https://push.example.com/send/x"
	set := func(path string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			if k, ok := strings.CutPrefix(path, "keys."); ok {
				keys := m["keys"].(map[string]any)
				if v == nil {
					delete(keys, k)
				} else {
					keys[k] = v
				}
				return
			}
			if v == nil {
				delete(m, path)
			} else {
				m[path] = v
			}
		}
	}
	p256dh, _ := alertingtest.PushKeys(t)
	raw, _ := base64.RawURLEncoding.DecodeString(p256dh)
	for _, c := range []struct {
		name, tok, body string
		status          int
		code, mentions  string
	}{
		{"worker", worker, subscriptionJSON(t, ep, nil), 403, "forbidden", ""},
		{"other team", other, subscriptionJSON(t, ep, nil), 403, "forbidden", ""},
		{"no token", "", subscriptionJSON(t, ep, nil), 401, "unauthorized", ""},
		{"no endpoint", mgr, subscriptionJSON(t, ep, set("endpoint", nil)), 400, "invalid_field", "endpoint"},
		{"endpoint not a URL", mgr, subscriptionJSON(t, "push.example.com/x", nil), 400, "invalid_field", "endpoint"},
		{"plain http endpoint", mgr, subscriptionJSON(t, "http://push.example.com/x", nil), 400, "invalid_field", "endpoint: must be https"},
		{"endpoint with credentials", mgr, subscriptionJSON(t, "https://u:p@push.example.com/x", nil), 400, "invalid_field", "endpoint"},
		{"endpoint a number", mgr, subscriptionJSON(t, ep, set("endpoint", 7)), 400, "invalid_field", "endpoint"},
		{"no keys", mgr, subscriptionJSON(t, ep, set("keys", nil)), 400, "invalid_field", "keys.p256dh"},
		{"no p256dh", mgr, subscriptionJSON(t, ep, set("keys.p256dh", nil)), 400, "invalid_field", "keys.p256dh: is required"},
		{"p256dh not base64", mgr, subscriptionJSON(t, ep, set("keys.p256dh", "***")), 400, "invalid_field", "keys.p256dh"},
		{"p256dh compressed", mgr, subscriptionJSON(t, ep, set("keys.p256dh", base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:33]...)))), 400, "invalid_field", "keys.p256dh"},
		{"p256dh not on the curve", mgr, subscriptionJSON(t, ep, set("keys.p256dh", base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)))), 400, "invalid_field", "keys.p256dh"},
		{"p256dh a number", mgr, subscriptionJSON(t, ep, set("keys.p256dh", 1)), 400, "invalid_field", "keys.p256dh"},
		{"no auth", mgr, subscriptionJSON(t, ep, set("keys.auth", nil)), 400, "invalid_field", "keys.auth: is required"},
		{"auth of 8 bytes", mgr, subscriptionJSON(t, ep, set("keys.auth", "AAAAAAAAAAA")), 400, "invalid_field", "keys.auth"},
		{"bad kind", mgr, subscriptionJSON(t, ep, set("kinds", []string{"enter", "Exit"})), 400, "invalid_field", "kinds[1]"},
		{"unknown field", mgr, subscriptionJSON(t, ep, set("colour", "red")), 400, "invalid_field", "colour"},
		{"not JSON", mgr, `{"endpoint":`, 400, "invalid_json", ""},
	} {
		resp, b := call(t, "POST", r.URL+"/tracking/team_one/push/subscriptions", c.tok, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != c.status || e.Code != c.code || !strings.HasPrefix(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, resp.StatusCode, b, c.status, c.code, c.mentions)
		}
	}
	// Padded standard base64 is what some browsers' libraries give: taken.
	resp, b := call(t, "POST", r.URL+"/tracking/team_one/push/subscriptions", mgr, subscriptionJSON(t, ep, set("keys.p256dh", base64.StdEncoding.EncodeToString(raw))))
	if resp.StatusCode != 201 {
		t.Fatalf("keys in padded base64: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct{ method, path, tok string }{
		{"GET", "/push/key", worker}, {"GET", "/push/subscriptions", worker}, {"DELETE", "/push/subscriptions/ps_x", other},
	} {
		if resp, b := call(t, c.method, r.URL+"/tracking/team_one"+c.path, c.tok, ""); resp.StatusCode != 403 {
			t.Errorf("%s %s: %d %s, want 403", c.method, c.path, resp.StatusCode, b)
		}
	}
	if resp, b := call(t, "GET", r.URL+"/tracking/team_one/push/subscriptions/bad%20id", mgr, ""); resp.StatusCode != 404 {
		t.Errorf("a malformed id: %d %s, want 404", resp.StatusCode, b)
	}
}

// The key cannot be read (the database is down): 503, to retry.
func TestPushKeyUnavailable(t *testing.T) {
	r, iss, _ := withPush(t, errors.New("connection refused"))
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	resp, b := call(t, "GET", r.URL+"/tracking/team_one/push/key", mgr, "")
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(b), "connection refused") {
		t.Fatalf("key: %d %s, want 503 without the cause", resp.StatusCode, b)
	}
}

func TestPushNotConfiguredIs501(t *testing.T) {
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		alerts *httpapi.Alerts
		want   string
	}{{nil, "HISTORY_DSN"}, {&httpapi.Alerts{Store: st}, "Web Push is not configured"}} {
		r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{Alerts: c.alerts})
		for _, p := range []struct{ method, path string }{
			{"GET", "/push/key"}, {"GET", "/push/subscriptions"}, {"POST", "/push/subscriptions"},
			{"GET", "/push/subscriptions/ps_x"}, {"DELETE", "/push/subscriptions/ps_x"}, {"GET", "/push/subscriptions/ps_x/dead-letters"},
		} {
			resp, b := call(t, p.method, r.URL+"/tracking/team_one"+p.path, "", "")
			var e struct{ Code, Message string }
			_ = json.Unmarshal(b, &e)
			if resp.StatusCode != http.StatusNotImplemented || e.Code != "not_implemented" || !strings.Contains(e.Message, c.want) {
				t.Fatalf("%s %s: %d %s, want 501 naming %q", p.method, p.path, resp.StatusCode, b, c.want)
			}
		}
		r.Stop()
	}
}
