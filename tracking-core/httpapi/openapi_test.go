package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
	"github.com/teamtrack/tracking-core/apispec"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
)

// fullReplica is a replica with every optional part on (history, alerts,
// Web Push, devices, messages), on the memory broker, in AUTH_MODE=none:
// every route of the API answers.
func fullReplica(t *testing.T) *servicetest.Replica {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	al, err := sqlitealerting.Open(ctx, sqlitealerting.Config{Path: filepath.Join(dir, "a.db")})
	must(t, err)
	hs, err := sqlitehistory.Open(ctx, sqlitehistory.Config{Path: filepath.Join(dir, "h.db")})
	must(t, err)
	hw := history.NewWriter(hs, history.WriterConfig{Linger: 5 * time.Millisecond})
	dv, err := sqlitedevices.Open(ctx, sqlitedevices.Config{Path: filepath.Join(dir, "d.db")})
	must(t, err)
	ms, err := sqlitemessaging.Open(ctx, sqlitemessaging.Config{Path: filepath.Join(dir, "m.db")})
	must(t, err)
	t.Cleanup(func() { _ = hw.Close(); _ = hs.Close(); _ = al.Close(); _ = dv.Close(); _ = ms.Close() }) // after the replica
	key := func(context.Context) (string, error) { return testVAPIDPublic, nil }
	b := memory.New(memory.NewBackend(), memory.Config{})
	return servicetest.StartReplicaConfig(t, b, service.Config{Messages: ms, API: httpapi.Config{
		RecordsPerSecond: -1, History: hw, Devices: dv, Alerts: &httpapi.Alerts{Store: al, PushKey: key}}})
}

// servedRoutes turns the API's ServeMux patterns into "METHOD /path" as
// OpenAPI writes them: {id...} is {id}; a pattern ending in /{$} is an alias
// of the same path without its slash when that is a route too (the spec
// lists the path once); the catch-all "/" (a JSON 404) is no route.
func servedRoutes(t *testing.T, patterns []string) []string {
	t.Helper()
	set := map[string]bool{}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			if p != "/" {
				t.Errorf("route %q has no method", p)
			}
			continue
		}
		path = strings.ReplaceAll(path, "...}", "}")
		set[method+" "+path] = true
	}
	var out []string
	for k := range set {
		if base, ok := strings.CutSuffix(k, "/{$}"); ok && set[base] {
			continue
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Every route the service serves is in openapi.yaml and every operation
// openapi.yaml gives the service is a route of it.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	docs := loadDocs(t)
	r := fullReplica(t)
	served := servedRoutes(t, r.Routes)
	var spec []string
	for _, op := range docs.Operations() {
		if op.ServedByService() {
			spec = append(spec, op.Key())
		}
	}
	for _, k := range served {
		if !slices.Contains(spec, k) {
			t.Errorf("the service serves %s: not in docs/openapi.yaml", k)
		}
	}
	for _, k := range spec {
		if !slices.Contains(served, k) {
			t.Errorf("docs/openapi.yaml has %s: the service does not serve it", k)
		}
	}
	if len(served) < 40 {
		t.Errorf("only %d routes served: %v", len(served), served)
	}
}

func loadDocs(t *testing.T) *apispec.Docs {
	t.Helper()
	docs, err := apispec.Load(apispec.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := docs.Check(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// specClient sends the operations of openapi.yaml to a replica, filling
// path parameters from their examples or from what an earlier POST created.
type specClient struct {
	t       *testing.T
	docs    *apispec.Docs
	base    string
	created map[string]string // collection path -> id of what a POST created there
	secrets map[string]string // device id -> secret, from the devices examples
}

// url is op's path with its parameters filled.
func (c *specClient) url(op apispec.Operation) string {
	path := op.Path
	for _, name := range apispec.PathParams(op.Path) {
		param := "{" + name + "}"
		val := c.docs.PathExample(op, name)
		// An id made by the server: the one a POST to its collection made.
		coll, _, _ := strings.Cut(op.Path, "/"+param)
		if id, ok := c.created[coll]; ok {
			val = id
		}
		if val == "" {
			c.t.Fatalf("%s: path parameter %s has no example", op.Key(), name)
		}
		path = strings.Replace(path, param, url.PathEscape(val), 1)
	}
	q := url.Values{}
	params, err := c.docs.Parameters(op)
	must(c.t, err)
	for _, p := range params {
		if ex, ok := p["example"]; ok && p["in"] == "query" {
			q.Set(p["name"].(string), strings.Trim(string(apispec.JSON(ex)), `"`))
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.base + path
}

// do sends op with body and checks a 2xx answer whose JSON matches the
// operation's response schema; it returns the answer.
func (c *specClient) do(op apispec.Operation, name, contentType string, body []byte) (*http.Response, []byte) {
	t := c.t
	t.Helper()
	req, err := http.NewRequest(op.Method, c.url(op), bytes.NewReader(body))
	must(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	params, _ := c.docs.Parameters(op)
	for _, p := range params {
		if ex, ok := p["example"].(string); ok && p["in"] == "header" {
			req.Header.Set(p["name"].(string), ex)
		}
	}
	c.phoneCredentials(op, req, body)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	where := op.Key() + " " + name
	if resp.StatusCode/100 != 2 {
		t.Errorf("%s: %d %s", where, resp.StatusCode, got)
		return resp, got
	}
	c.checkResponse(where, op, resp, got)
	return resp, got
}

// checkResponse validates a JSON answer against the schema openapi.yaml
// gives its status.
func (c *specClient) checkResponse(where string, op apispec.Operation, resp *http.Response, body []byte) {
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	responses, _ := op.Node["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(resp.StatusCode)].(map[string]any)
	if !ok {
		c.t.Errorf("%s: status %d is not among its responses in openapi.yaml", where, resp.StatusCode)
		return
	}
	if ct != "application/json" || len(bytes.TrimSpace(body)) == 0 {
		return
	}
	content, _ := r["content"].(map[string]any)
	if _, ok := content[ct]; !ok {
		c.t.Errorf("%s: answered %s, not among its %d response's media types", where, ct, resp.StatusCode)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		c.t.Errorf("%s: answer is not JSON: %v", where, err)
		return
	}
	ref := apispec.OpenAPIFile + "#/paths/" + apispec.Escape(op.Path) + "/" + strings.ToLower(op.Method) +
		"/responses/" + strconv.Itoa(resp.StatusCode) + "/content/" + apispec.Escape(ct) + "/schema"
	if err := c.docs.ValidateValue(ref, v); err != nil {
		c.t.Errorf("%s: answer %s: %v", where, body, err)
	}
}

// phoneCredentials adds the device's secret (from the devices examples) to
// a phone's request, as basic auth: OsmAnd names the device in the body,
// OwnTracks with the user and its X-Limit-D header.
func (c *specClient) phoneCredentials(op apispec.Operation, req *http.Request, body []byte) {
	switch op.Path {
	case "/osmand":
		for id, secret := range c.secrets {
			if bytes.Contains(body, []byte(`"`+id+`"`)) || bytes.Contains(body, []byte("id="+id)) || req.URL.Query().Get("id") == id {
				req.SetBasicAuth(id, secret)
			}
		}
	case "/owntracks":
		user := "kim"
		req.SetBasicAuth(user, c.secrets[user+"/"+req.Header.Get("X-Limit-D")])
	}
}

// Every request example of openapi.yaml is accepted by the real handlers
// (a 2xx), and the answers to them, and to every other operation but the
// streams, match the response schemas: the examples are POSTed and PUT
// first (they create what the GETs then read), the DELETEs come last.
func TestOpenAPIExamplesAreAccepted(t *testing.T) {
	docs := loadDocs(t)
	r := fullReplica(t)
	c := &specClient{t: t, docs: docs, base: r.URL, created: map[string]string{}, secrets: map[string]string{}}
	examples, err := docs.RequestExamples()
	must(t, err)
	if len(examples) < 15 {
		t.Fatalf("only %d request examples", len(examples))
	}
	for _, ex := range examples {
		if !ex.Op.ServedByService() {
			continue // the gateway's test sends these
		}
		if err := docs.ValidateValue(ex.Schema, ex.Value); err != nil {
			t.Errorf("%s example %s: %v", ex.Op.Key(), ex.Name, err)
		}
		var body []byte
		switch ex.ContentType {
		case "application/json":
			body = apispec.JSON(ex.Value)
		case "application/x-www-form-urlencoded":
			form := url.Values{}
			for k, v := range ex.Value.(map[string]any) {
				form.Set(k, v.(string))
			}
			body = []byte(form.Encode())
		default: // NDJSON: each line a PositionInput
			body = []byte(ex.Value.(string))
			for i, line := range strings.Split(strings.TrimSpace(ex.Value.(string)), "\n") {
				var rec any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("%s example %s line %d: %v", ex.Op.Key(), ex.Name, i+1, err)
				} else if err := docs.ValidateValue(apispec.OpenAPIFile+"#/components/schemas/PositionInput", rec); err != nil {
					t.Errorf("%s example %s line %d: %v", ex.Op.Key(), ex.Name, i+1, err)
				}
			}
		}
		if ex.Op.Path == "/devices" {
			var d struct{ ID, Secret string }
			must(t, json.Unmarshal(body, &d))
			c.secrets[d.ID] = d.Secret
		}
		resp, got := c.do(ex.Op, ex.Name, ex.ContentType, body)
		if ex.Op.Path == "/tracking" {
			var sum struct{ Accepted, Rejected int }
			if err := json.Unmarshal(got, &sum); err != nil || sum.Rejected != 0 || sum.Accepted == 0 {
				t.Errorf("%s example %s: %s", ex.Op.Key(), ex.Name, got)
			}
		}
		if loc := resp.Header.Get("Location"); ex.Op.Method == http.MethodPost && resp.StatusCode == http.StatusCreated && loc != "" {
			c.created[ex.Op.Path] = loc[strings.LastIndexByte(loc, '/')+1:]
		}
	}
	var reads, deletes []apispec.Operation
	for _, op := range docs.Operations() {
		switch {
		case !op.ServedByService():
		case op.Method == http.MethodGet && !streaming(op):
			reads = append(reads, op)
		case op.Method == http.MethodDelete:
			deletes = append(deletes, op)
		}
	}
	for _, op := range reads {
		c.do(op, "", "", nil)
	}
	for _, op := range slices.Backward(deletes) {
		c.do(op, "", "", nil)
	}
}

// streaming tells the operations that answer a stream (SSE or WebSocket):
// asyncapi_test.go covers them.
func streaming(op apispec.Operation) bool {
	rs, _ := op.Node["responses"].(map[string]any)
	if _, ok := rs["101"]; ok {
		return true
	}
	ok, _ := rs["200"].(map[string]any)
	content, _ := ok["content"].(map[string]any)
	_, sse := content["text/event-stream"]
	return sse
}
