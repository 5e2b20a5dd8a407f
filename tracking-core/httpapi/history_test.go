package httpapi_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
)

// withHistory starts a replica requiring tokens, with a SQLite history.
func withHistory(t *testing.T) (*servicetest.Replica, *auth.Issuer, *history.Writer) {
	t.Helper()
	v, iss := signing(t)
	st, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	w := history.NewWriter(st, history.WriterConfig{Linger: 5 * time.Millisecond})
	t.Cleanup(func() { _ = w.Close(); _ = st.Close() }) // after the replica stops
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{Verifier: v, RecordsPerSecond: -1, History: w})
	return r, iss, w
}

func get(t *testing.T, u, tok string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestHistoryOfIngestedRecords(t *testing.T) {
	r, iss, w := withHistory(t)
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var body strings.Builder
	for i := range 5 {
		fmt.Fprintf(&body, `{"id":"p%d","workerId":"w-1","team":"team_one","location":{"latitude":%d,"longitude":%d},"timeStamp":%q}`+"\n",
			i, i, -i, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano))
	}
	req, _ := http.NewRequest("POST", r.URL+"/tracking", strings.NewReader(body.String()))
	req.Header.Set("Authorization", "Bearer "+worker)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testsupport.Eventually(t, 10*time.Second, "5 records written", func() bool { return w.Stats().Written == 5 })

	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	base := r.URL + "/tracking/team_one/history?from=" + url.QueryEscape(start.Format(time.RFC3339))
	// Pages of 2, following the Link header.
	var ids []string
	next := base + "&limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, b := get(t, next, mgr)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		var page struct {
			Positions []struct{ ID string } `json:"positions"`
			Next      string                `json:"next"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		for _, p := range page.Positions {
			ids = append(ids, p.ID)
		}
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			ref := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			u, _ := url.Parse(resp.Request.URL.String())
			next = u.ResolveReference(mustParse(t, ref)).String()
			if !strings.Contains(next, "cursor="+url.QueryEscape(page.Next)) {
				t.Fatalf("Link %s does not carry next %s", link, page.Next)
			}
		} else if page.Next != "" {
			t.Fatalf("next %q without a Link header", page.Next)
		}
	}
	if strings.Join(ids, ",") != "p0,p1,p2,p3,p4" {
		t.Fatalf("pages gave %v", ids)
	}

	resp, b := get(t, base+"&worker=w-1&format=geojson&download=1", mgr)
	var f struct {
		Type     string
		Geometry struct{ Type string }
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/geo+json" || json.Unmarshal(b, &f) != nil ||
		f.Type != "Feature" || f.Geometry.Type != "LineString" {
		t.Fatalf("geojson: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="team_one-w-1-`) || !strings.HasSuffix(cd, `.geojson"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	admin := token(t, iss, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	resp, b = get(t, base+"&format=gpx", admin)
	var g struct {
		XMLName xml.Name
		Trk     []struct{ Name string } `xml:"trk"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gpx+xml" || xml.Unmarshal(b, &g) != nil || len(g.Trk) != 1 {
		t.Fatalf("gpx: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHistoryRefusals(t *testing.T) {
	r, iss, _ := withHistory(t)
	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	from := "&from=2026-01-01T00:00:00Z"
	for _, c := range []struct {
		name, tok, query string
		status           int
		code, mentions   string
	}{
		{"worker", token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}}), from, 403, "forbidden", ""},
		{"manager of another team", token(t, iss, auth.Claims{Subject: "m2", Role: auth.RoleManager, Teams: []string{"team_two"}}), from, 403, "forbidden", ""},
		{"no token", "", from, 401, "unauthorized", ""},
		{"no from", mgr, "", 400, "bad_request", "from"},
		{"bad from", mgr, "&from=yesterday", 400, "bad_request", "from"},
		{"bad to", mgr, from + "&to=2026-13-01T00:00:00Z", 400, "bad_request", "to"},
		{"to before from", mgr, from + "&to=2025-01-01T00:00:00Z", 400, "bad_request", "to"},
		{"limit too big", mgr, from + "&limit=100001", 400, "bad_request", "limit"},
		{"bad format", mgr, from + "&format=kml", 400, "bad_request", "format"},
		{"bad worker", mgr, from + "&worker=a%20b", 400, "invalid_field", "worker"},
		{"bad cursor", mgr, from + "&cursor=zzz", 400, "invalid_field", "cursor"},
	} {
		resp, b := get(t, r.URL+"/tracking/team_one/history?x=1"+c.query, c.tok)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != c.status || e.Code != c.code || !strings.HasPrefix(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, resp.StatusCode, b, c.status, c.code, c.mentions)
		}
	}
}

func TestHistoryNotConfiguredIs501(t *testing.T) {
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{})
	resp, b := get(t, r.URL+"/tracking/team_one/history?from=2026-01-01T00:00:00Z", "")
	var e struct{ Code, Message string }
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != http.StatusNotImplemented || e.Code != "not_implemented" || !strings.Contains(e.Message, "HISTORY_DSN") {
		t.Fatalf("%d %s, want 501 not_implemented naming HISTORY_DSN", resp.StatusCode, b)
	}
}

// A phone back online sends a live fix, then the 500 fixes it buffered
// (newest last, as an NDJSON body): all of them land in history in fix-time
// order, and the worker's last known position stays the live fix.
func TestBacklogLandsInHistory(t *testing.T) {
	r, iss, w := withHistory(t)
	worker := token(t, iss, auth.Claims{Subject: "w-1", Role: auth.RoleWorker, Teams: []string{"team_one"}})
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := func(id string, at time.Time) string {
		return fmt.Sprintf(`{"id":%q,"workerId":"w-1","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":%q}`+"\n",
			id, at.Format(time.RFC3339Nano))
	}
	post := func(body string) {
		req, _ := http.NewRequest("POST", r.URL+"/tracking", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+worker)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post(rec("live", now))
	var backlog strings.Builder
	start := now.Add(-time.Hour)
	for i := range 500 {
		backlog.WriteString(rec(fmt.Sprintf("b%03d", i), start.Add(time.Duration(i)*time.Second)))
	}
	post(backlog.String())
	testsupport.Eventually(t, 10*time.Second, "501 records written", func() bool { return w.Stats().Written == 501 })

	mgr := token(t, iss, auth.Claims{Subject: "m1", Role: auth.RoleManager, Teams: []string{"team_one"}})
	resp, b := get(t, r.URL+"/tracking/team_one/history?worker=w-1&from="+url.QueryEscape(start.Format(time.RFC3339Nano)), mgr)
	var page struct {
		Positions []struct {
			ID   string
			Late bool
		} `json:"positions"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil || len(page.Positions) != 501 {
		t.Fatalf("history: %d, %d positions", resp.StatusCode, len(page.Positions))
	}
	for i, p := range page.Positions[:500] {
		if want := fmt.Sprintf("b%03d", i); p.ID != want {
			t.Fatalf("history position %d is %s, want %s (fix-time order)", i, p.ID, want)
		}
	}
	if page.Positions[500].ID != "live" {
		t.Fatalf("the newest fix in history is %s, want live", page.Positions[500].ID)
	}
	resp, b = get(t, r.URL+"/tracking/team_one/positions", mgr)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"live"`) {
		t.Fatalf("last position after the backlog: %d %s; want the live fix", resp.StatusCode, b)
	}
}
