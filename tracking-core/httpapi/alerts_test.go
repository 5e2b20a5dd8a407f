package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// withAlerts starts a replica requiring tokens, with a SQLite alerting store.
func withAlerts(t *testing.T) (*servicetest.Replica, *auth.Issuer, alerting.Store, *int) {
	t.Helper()
	v, iss := signing(t)
	st, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	notified := new(int)
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{Verifier: v, RecordsPerSecond: -1,
		Alerts: &httpapi.Alerts{Store: st, Notify: func() { *notified++ }}})
	return r, iss, st, notified
}

// call sends method u with body (JSON) and the token, and returns the
// answer and its body.
func call(t *testing.T, method, u, tok, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestEventsPagedWithLink(t *testing.T) {
	r, iss, st, _ := withAlerts(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var evs []alerting.Event
	for i := range 5 {
		evs = append(evs, alertingtest.Event("team_one", "w-1", fmt.Sprintf("e%d", i), "enter", start.Add(time.Duration(i)*time.Second)))
	}
	evs = append(evs, alertingtest.Event("team_two", "w-1", "x", "exit", start))
	if err := st.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	next := r.URL + "/tracking/team_one/events?limit=2&from=" + url.QueryEscape(start.Format(time.RFC3339))
	var ids []string
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, b := call(t, "GET", next, mgr, "")
		var page struct {
			Events []struct{ ID, Kind, Team, WorkerID string } `json:"events"`
			Next   string                                      `json:"next"`
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &page) != nil {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		for _, e := range page.Events {
			if e.Team != "team_one" || e.Kind != "enter" || e.WorkerID != "w-1" {
				t.Fatalf("event %+v", e)
			}
			ids = append(ids, e.ID)
		}
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			ref := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			next = resp.Request.URL.ResolveReference(mustParse(t, ref)).String()
		} else if page.Next != "" {
			t.Fatalf("next %q without a Link header", page.Next)
		}
	}
	if strings.Join(ids, ",") != "e0,e1,e2,e3,e4" {
		t.Fatalf("pages gave %v", ids)
	}
}

func TestAlertsRefusals(t *testing.T) {
	r, iss, _, _ := withAlerts(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	from := "from=2026-01-01T00:00:00Z"
	hook := `{"url":"https://hooks.example.com/x","secret":"0123456789abcdef"}`
	for _, c := range []struct {
		name, method, path, tok, body string
		status                        int
		code, mentions                string
	}{
		{"events: worker", "GET", "/events?" + from, worker, "", 403, "forbidden", ""},
		{"events: other team's manager", "GET", "/events?" + from, other, "", 403, "forbidden", ""},
		{"events: no token", "GET", "/events?" + from, "", "", 401, "unauthorized", ""},
		{"events: no from", "GET", "/events", mgr, "", 400, "bad_request", "from"},
		{"events: bad to", "GET", "/events?" + from + "&to=soon", mgr, "", 400, "bad_request", "to"},
		{"events: limit", "GET", "/events?" + from + "&limit=0", mgr, "", 400, "bad_request", "limit"},
		{"events: cursor", "GET", "/events?" + from + "&cursor=zz", mgr, "", 400, "invalid_field", "cursor"},
		{"webhooks: worker", "GET", "/webhooks", worker, "", 403, "forbidden", ""},
		{"create: worker", "POST", "/webhooks", worker, hook, 403, "forbidden", ""},
		{"create: other team", "POST", "/webhooks", other, hook, 403, "forbidden", ""},
		{"create: no url", "POST", "/webhooks", mgr, `{"secret":"0123456789abcdef"}`, 400, "invalid_field", "url"},
		{"create: ftp url", "POST", "/webhooks", mgr, `{"url":"ftp://x.example","secret":"0123456789abcdef"}`, 400, "invalid_field", "url"},
		{"create: plain http", "POST", "/webhooks", mgr, `{"url":"http://hooks.example.com/x","secret":"0123456789abcdef"}`, 400, "invalid_field", "url: must be https"},
		{"create: no secret", "POST", "/webhooks", mgr, `{"url":"https://hooks.example.com/x"}`, 400, "invalid_field", "secret"},
		{"create: short secret", "POST", "/webhooks", mgr, `{"url":"https://hooks.example.com/x","secret":"abc"}`, 400, "invalid_field", "secret"},
		{"create: bad kind", "POST", "/webhooks", mgr, `{"url":"https://hooks.example.com/x","secret":"0123456789abcdef","kinds":["enter","NO"]}`, 400, "invalid_field", "kinds[1]"},
		{"create: kinds not a list", "POST", "/webhooks", mgr, `{"url":"https://hooks.example.com/x","secret":"0123456789abcdef","kinds":"enter"}`, 400, "invalid_field", "kinds"},
		{"create: unknown field", "POST", "/webhooks", mgr, `{"url":"https://hooks.example.com/x","secret":"0123456789abcdef","colour":1}`, 400, "invalid_field", "colour"},
		{"create: not JSON", "POST", "/webhooks", mgr, `{"url":`, 400, "invalid_json", ""},
		{"get: unknown", "GET", "/webhooks/wh_nope", mgr, "", 404, "not_found", ""},
		{"put: unknown", "PUT", "/webhooks/wh_nope", mgr, hook, 404, "not_found", ""},
		{"delete: unknown", "DELETE", "/webhooks/wh_nope", mgr, "", 404, "not_found", ""},
		{"dead letters: unknown", "GET", "/webhooks/wh_nope/dead-letters", mgr, "", 404, "not_found", ""},
		{"replay: unknown", "POST", "/webhooks/wh_nope/dead-letters/replay", mgr, "", 404, "not_found", ""},
		{"replay: worker", "POST", "/webhooks/wh_nope/dead-letters/replay", worker, "", 403, "forbidden", ""},
		{"replay: bad ids", "POST", "/webhooks/wh_nope/dead-letters/replay", mgr, `{"ids":["a"]}`, 400, "invalid_field", "ids"},
	} {
		resp, b := call(t, c.method, r.URL+"/tracking/team_one"+c.path, c.tok, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != c.status || e.Code != c.code || !strings.HasPrefix(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, resp.StatusCode, b, c.status, c.code, c.mentions)
		}
	}
}

func TestWebhooksCRUDNeverShowsTheSecret(t *testing.T) {
	r, iss, st, notified := withAlerts(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	admin := token(t, iss, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	const secretValue = "very-secret-value-0123"
	base := r.URL + "/tracking/team_one/webhooks"
	resp, b := call(t, "POST", base, mgr, `{"url":"https://hooks.example.com/x","secret":"`+secretValue+`","kinds":["enter","exit"]}`)
	var created struct {
		ID      string
		URL     string
		Kinds   []string
		Enabled bool
	}
	if resp.StatusCode != 201 || json.Unmarshal(b, &created) != nil || created.ID == "" || !created.Enabled ||
		strings.Join(created.Kinds, ",") != "enter,exit" || resp.Header.Get("Location") != created.ID {
		t.Fatalf("create: %d %s (Location %q)", resp.StatusCode, b, resp.Header.Get("Location"))
	}
	bodies := []string{string(b)}
	resp, b = call(t, "GET", base+"/"+created.ID, admin, "")
	bodies = append(bodies, string(b))
	if resp.StatusCode != 200 || !strings.Contains(string(b), created.ID) {
		t.Fatalf("get: %d %s", resp.StatusCode, b)
	}
	// Replace without a secret: kept; disabled.
	resp, b = call(t, "PUT", base+"/"+created.ID, mgr, `{"url":"http://127.0.0.1:9/hook","enabled":false}`)
	bodies = append(bodies, string(b))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"enabled":false`) || !strings.Contains(string(b), `"kinds":[]`) {
		t.Fatalf("put: %d %s", resp.StatusCode, b)
	}
	stored, err := st.GetWebhook(context.Background(), "team_one", created.ID)
	if err != nil || stored.Secret != secretValue || stored.URL != "http://127.0.0.1:9/hook" {
		t.Fatalf("stored after PUT: %+v, %v", stored, err)
	}
	resp, b = call(t, "GET", base, mgr, "")
	bodies = append(bodies, string(b))
	if resp.StatusCode != 200 || strings.Count(string(b), `"id"`) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	if resp, b := call(t, "GET", r.URL+"/tracking/team_two/webhooks/"+created.ID, other, ""); resp.StatusCode != 404 {
		t.Fatalf("another team's manager reads the webhook by id: %d %s", resp.StatusCode, b)
	}
	for _, body := range bodies {
		if strings.Contains(body, secretValue) || strings.Contains(body, "secret") {
			t.Fatalf("an answer shows the secret: %s", body)
		}
	}

	// Dead letters: one event, its delivery failed for good.
	if _, err := st.PutWebhook(context.Background(), alerting.Webhook{Team: "team_one", ID: created.ID, URL: stored.URL, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvents(context.Background(), []alerting.Event{alertingtest.Event("team_one", "w-1", "e1", "enter", time.Now())}); err != nil {
		t.Fatal(err)
	}
	ds, err := st.Lease(context.Background(), alerting.LeaseRequest{Now: time.Now(), For: time.Minute, Max: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("lease: %v %v", ds, err)
	}
	if err := st.Failed(context.Background(), ds[0], time.Time{}, "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	resp, b = call(t, "GET", base+"/"+created.ID+"/dead-letters", mgr, "")
	var dl struct {
		DeadLetters []struct {
			ID        int64
			Event     struct{ ID string }
			Attempts  int
			LastError string
		} `json:"deadLetters"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &dl) != nil || len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Event.ID != "e1" ||
		dl.DeadLetters[0].LastError != "HTTP 500" || dl.DeadLetters[0].Attempts != 1 {
		t.Fatalf("dead letters: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, "POST", base+"/"+created.ID+"/dead-letters/replay", mgr, fmt.Sprintf(`{"ids":[%d]}`, dl.DeadLetters[0].ID))
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"replayed":1}` || *notified != 1 {
		t.Fatalf("replay: %d %s (notified %d)", resp.StatusCode, b, *notified)
	}
	resp, b = call(t, "POST", base+"/"+created.ID+"/dead-letters/replay", mgr, "")
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"replayed":0}` {
		t.Fatalf("replay of all with none left: %d %s", resp.StatusCode, b)
	}

	if resp, b := call(t, "DELETE", base+"/"+created.ID, mgr, ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, _ := call(t, "GET", base+"/"+created.ID, mgr, ""); resp.StatusCode != 404 {
		t.Fatalf("get after delete: %d", resp.StatusCode)
	}
}

func TestAlertsNotConfiguredIs501(t *testing.T) {
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/events?from=2026-01-01T00:00:00Z"}, {"GET", "/webhooks"}, {"POST", "/webhooks"},
		{"GET", "/webhooks/x/dead-letters"}, {"GET", "/geofences"}, {"POST", "/geofences"},
		{"PUT", "/geofences/x"}, {"DELETE", "/geofences/x"}, {"GET", "/rules"}, {"POST", "/rules"},
	} {
		resp, b := call(t, c.method, r.URL+"/tracking/team_one"+c.path, "", "")
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusNotImplemented || e.Code != "not_implemented" || !strings.Contains(e.Message, "HISTORY_DSN") {
			t.Fatalf("%s %s: %d %s, want 501 naming HISTORY_DSN", c.method, c.path, resp.StatusCode, b)
		}
	}
}
