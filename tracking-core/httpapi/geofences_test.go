package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
)

const depot = `{"name":"Depot","dwell":"5m",
 "geometry":{"type":"Polygon","coordinates":[[[-46.64,-23.56],[-46.62,-23.56],[-46.62,-23.54],[-46.64,-23.54],[-46.64,-23.56]]]}}`

func TestGeofencesCRUD(t *testing.T) {
	r, iss, _, _ := withAlerts(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	base := r.URL + "/tracking/team_one/geofences"

	resp, b := call(t, "POST", base, mgr, depot)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	var f struct {
		ID, Team, Name, Dwell, UpdatedAt string
	}
	if err := json.Unmarshal(b, &f); err != nil || f.ID == "" || f.Team != "team_one" || f.Name != "Depot" || f.Dwell != "5m" || f.UpdatedAt == "" {
		t.Fatalf("POST answered %s (%v)", b, err)
	}
	if loc := resp.Header.Get("Location"); loc != f.ID {
		t.Fatalf("Location %q, want %q", loc, f.ID)
	}
	if resp, b := call(t, "GET", base+"/"+f.ID, mgr, ""); resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"Depot"`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}

	// PUT with a chosen id creates, then replaces.
	if resp, b := call(t, "PUT", base+"/yard", mgr, strings.Replace(depot, "Depot", "Yard", 1)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT new: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "PUT", base+"/yard", mgr, `{"id":"yard","team":"team_one","name":"Yard 2","geometry":{"type":"Point","coordinates":[-46.63,-23.55],"radius":75}}`); resp.StatusCode != 200 ||
		!strings.Contains(string(b), `"radius":75`) {
		t.Fatalf("PUT replace: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", base, mgr, "")
	var list struct {
		Geofences []struct{ ID, Name string }
	}
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 || len(list.Geofences) != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}

	// Errors name the field.
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", base, `{"name":"x"}`, "geometry"},
		{"POST", base, `{"name":"x","geometry":{"type":"Point","coordinates":[-46.63,-23.55],"radius":0}}`, "geometry.radius"},
		{"POST", base, strings.Replace(depot, `"5m"`, `"soon"`, 1), "dwell"},
		{"POST", base, strings.Replace(depot, `{"name"`, `{"id":"mine","name"`, 1), "id"},
		{"PUT", base + "/yard", strings.Replace(depot, `{"name"`, `{"id":"other","name"`, 1), "id"},
		{"PUT", base + "/yard", strings.Replace(depot, `{"name"`, `{"team":"team_two","name"`, 1), "team"},
		{"POST", base, strings.Replace(depot, `"name"`, `"label"`, 1), "label"},
	} {
		resp, b := call(t, c.method, c.path, mgr, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != 400 || !strings.HasPrefix(e.Message, c.field+": ") {
			t.Fatalf("%s %s: %d %s, want 400 naming %s", c.method, c.body, resp.StatusCode, b, c.field)
		}
	}

	// Who: managers of the team and admins.
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	other := token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}})
	admin := token(t, iss, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	for _, tok := range []string{worker, other} {
		if resp, b := call(t, "POST", base, tok, depot); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST by a non-manager: %d %s", resp.StatusCode, b)
		}
		if resp, b := call(t, "GET", base, tok, ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET by a non-manager: %d %s", resp.StatusCode, b)
		}
	}
	if resp, b := call(t, "GET", base, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a token: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, "DELETE", base+"/yard", admin, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	for _, p := range []string{"/yard", "/no-such", "/bad%20id"} {
		if resp, b := call(t, "GET", base+p, mgr, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
		}
	}
	if resp, b := call(t, "DELETE", base+"/yard", mgr, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE again: %d %s", resp.StatusCode, b)
	}
}
