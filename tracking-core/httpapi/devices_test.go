package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
)

// withDevices starts a replica requiring tokens, with a SQLite device registry.
func withDevices(t *testing.T) (*servicetest.Replica, *auth.Issuer) {
	t.Helper()
	v, iss := signing(t)
	st, err := sqlitedevices.Open(context.Background(), sqlitedevices.Config{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := memory.New(memory.NewBackend(), memory.Config{})
	return servicetest.StartReplica(t, b, httpapi.Config{Verifier: v, RecordsPerSecond: -1, Devices: st}), iss
}

// Admins register, list, read and delete devices; the secret is answered
// once when the service makes it, and never shown again; a device with
// that secret reports; others are refused, naming what is wrong.
func TestDevicesRegistry(t *testing.T) {
	r, iss := withDevices(t)
	adm := token(t, iss, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	for _, c := range []struct {
		name, method, path, tok, body string
		status                        int
		code, mentions                string
	}{
		{"manager", "POST", "/devices", mgr, `{"id":"1","team":"team_one","workerId":"w1"}`, 403, "forbidden", ""},
		{"no token", "GET", "/devices", "", "", 401, "unauthorized", ""},
		{"bad id", "POST", "/devices", adm, `{"id":"a b","team":"team_one","workerId":"w1"}`, 400, "invalid_field", "id"},
		{"no team", "POST", "/devices", adm, `{"id":"1","workerId":"w1"}`, 400, "invalid_field", "team"},
		{"no worker", "POST", "/devices", adm, `{"id":"1","team":"team_one"}`, 400, "invalid_field", "workerId"},
		{"short secret", "POST", "/devices", adm, `{"id":"1","team":"team_one","workerId":"w1","secret":"abc"}`, 400, "invalid_field", "secret"},
		{"unknown field", "POST", "/devices", adm, `{"id":"1","team":"team_one","workerId":"w1","colour":"red"}`, 400, "invalid_field", "colour"},
		{"get unknown", "GET", "/devices/nope", adm, "", 404, "not_found", ""},
		{"delete unknown", "DELETE", "/devices/nope", adm, "", 404, "not_found", ""},
		{"bad limit", "GET", "/devices?limit=x", adm, "", 400, "invalid_field", "limit"},
	} {
		resp, b := call(t, c.method, r.URL+c.path, c.tok, c.body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != c.status || e.Code != c.code || !strings.HasPrefix(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, resp.StatusCode, b, c.status, c.code, c.mentions)
		}
	}

	resp, b := call(t, "POST", r.URL+"/devices", adm, `{"id":"kim/phone","team":"team_one","workerId":"w-kim","label":"Kim's phone"}`)
	var made struct {
		ID, Secret string
		HasSecret  bool
	}
	if resp.StatusCode != 201 || json.Unmarshal(b, &made) != nil || made.Secret == "" || !made.HasSecret {
		t.Fatalf("register: %d %s, want 201 with a secret made for the device", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", r.URL+"/devices/kim%2Fphone", adm, "")
	if resp.StatusCode != 200 || strings.Contains(string(b), made.Secret) || strings.Contains(string(b), `"secret"`) {
		t.Fatalf("get: %d %s, want the device without its secret", resp.StatusCode, b)
	}
	resp, b = call(t, "POST", r.URL+"/devices", adm, `{"id":"kim/phone","team":"team_one","workerId":"w-kim","secret":"a-secret-of-my-own"}`)
	if resp.StatusCode != 200 || strings.Contains(string(b), "a-secret-of-my-own") {
		t.Fatalf("replace with a given secret: %d %s, want 200 without the secret", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", r.URL+"/devices?team=team_one", adm, "")
	var page struct {
		Devices []struct{ ID, WorkerID string }
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil || len(page.Devices) != 1 || page.Devices[0].WorkerID != "w-kim" {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}

	// The phone, with the new secret and then the old one.
	req := `{"_type":"location","lat":48.1,"lon":11.5,"tst":1764662400,"tid":"kp"}`
	for _, c := range []struct {
		secret string
		status int
	}{{"a-secret-of-my-own", 200}, {made.Secret, 401}} {
		code, b := phonePost(t, r.URL+"/owntracks", "kim", "phone", c.secret, req)
		if code != c.status {
			t.Errorf("OwnTracks with secret %q: %d %s, want %d", c.secret, code, b, c.status)
		}
	}
	resp, b = call(t, "DELETE", r.URL+"/devices/kim/phone", adm, "")
	if resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if code, b := phonePost(t, r.URL+"/owntracks", "kim", "phone", "a-secret-of-my-own", req); code != 401 ||
		!strings.Contains(string(b), "not registered") {
		t.Fatalf("a deleted device: %d %s, want 401 not registered", code, b)
	}
}

// phonePost sends an OwnTracks body as user/device with secret.
func phonePost(t *testing.T, u, user, device, secret, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.SetBasicAuth(user, secret)
	req.Header.Set("X-Limit-D", device)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
