package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
)

func TestRulesCRUD(t *testing.T) {
	r, iss, _, _ := withAlerts(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	base := r.URL + "/tracking/team_one/rules"
	const apart = `{"name":"Buddy system","kind":"apart","workers":["w-1","w-2"],"distance":200,"for":"5m"}`

	resp, b := call(t, "POST", base, mgr, apart)
	var rule struct{ ID, Team, Kind, For, UpdatedAt string }
	if err := json.Unmarshal(b, &rule); err != nil || resp.StatusCode != http.StatusCreated || rule.ID == "" ||
		rule.Team != "team_one" || rule.Kind != "apart" || rule.For != "5m0s" || rule.UpdatedAt == "" {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	if loc := resp.Header.Get("Location"); loc != rule.ID {
		t.Fatalf("Location %q, want %q", loc, rule.ID)
	}
	if resp, b := call(t, "PUT", base+"/alone-1", mgr, `{"kind":"alone","distance":500}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT new: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "PUT", base+"/alone-1", mgr, `{"id":"alone-1","kind":"alone","distance":300}`); resp.StatusCode != 200 ||
		!strings.Contains(string(b), `"distance":300`) {
		t.Fatalf("PUT replace: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", base, mgr, "")
	var list struct{ Rules []struct{ ID string } }
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 || len(list.Rules) != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", base, `{"kind":"apart","workers":["w-1"],"distance":200}`, "workers"},
		{"POST", base, `{"kind":"near","distance":200}`, "kind"},
		{"POST", base, `{"kind":"alone","distance":-1}`, "distance"},
		{"POST", base, `{"kind":"alone","distance":5,"for":"soon"}`, "for"},
		{"POST", base, `{"id":"mine","kind":"alone","distance":5}`, "id"},
		{"PUT", base + "/alone-1", `{"team":"team_two","kind":"alone","distance":5}`, "team"},
	} {
		resp, b := call(t, c.method, c.path, mgr, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != 400 || !strings.HasPrefix(e.Message, c.field+": ") {
			t.Fatalf("%s %s: %d %s, want 400 naming %s", c.method, c.body, resp.StatusCode, b, c.field)
		}
	}
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	if resp, b := call(t, "POST", base, worker, apart); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST by a worker: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "DELETE", base+"/alone-1", mgr, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "GET", base+"/alone-1", mgr, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d %s", resp.StatusCode, b)
	}
}
