package view

import (
	"compress/gzip"
	"encoding/json"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// builtFS is a small stand-in for a build of web/: a page with the config
// placeholder, a hashed script big enough to compress, an unhashed file.
func builtFS() fstest.MapFS {
	return fstest.MapFS{
		".gitkeep":                    {Data: nil},
		"index.html":                  {Data: []byte(`<!doctype html><head>` + configPlaceholder + `<script type="module" src="assets/main-ABCD2345.js"></script></head>`)},
		"assets/main-ABCD2345.js":     {Data: []byte(strings.Repeat("console.log('map');\n", 200))},
		"assets/main-ABCD2345.js.map": {Data: []byte(`{"version":3}`)},
		"assets/readme.txt":           {Data: []byte("plain")},
		"sw.js":                       {Data: []byte(`self.addEventListener("push", () => {});`)},
		"assets/.hidden":              {Data: []byte("no")},
	}
}

func newTestHandler(t *testing.T, fsys fstest.MapFS, cfg Config) http.Handler {
	t.Helper()
	h, err := newHandler(fsys, cfg)
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	return h
}

func get(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkHeaders reports each header of resp that is not as in want.
func checkHeaders(t *testing.T, what string, resp *httptest.ResponseRecorder, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header().Get(k); got != v {
			t.Errorf("%s: %s %q, want %q", what, k, got, v)
		}
	}
}

// pageConfig decodes the page's config meta tag, which must be the whole
// tag's attribute, escaped for it.
func pageConfig(t *testing.T, page string) Config {
	t.Helper()
	m := regexp.MustCompile(`<meta name="tracking-view-config" content="([^"]*)">`).FindStringSubmatch(page)
	if m == nil || strings.ContainsAny(m[1], "<>") {
		t.Fatalf("no config meta, or not escaped for an attribute, in %s", page)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
		t.Fatalf("config meta %q: %v", m[1], err)
	}
	return cfg
}

func TestIndexCarriesConfig(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{TileURL: NoTiles, DefaultTeam: "team_two", Teams: []string{"team_two", "a.b:c-d"}})
	for _, target := range []string{"/", "/index.html", "/?strategy=kafka&team=team_one"} {
		resp := get(h, http.MethodGet, target, nil)
		if resp.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", target, resp.Code)
		}
		checkHeaders(t, "GET "+target, resp, map[string]string{"Cache-Control": cacheIndex, "Content-Type": "text/html; charset=utf-8"})
		want := Config{TileURL: NoTiles, DefaultStrategy: "redis", DefaultTeam: "team_two", Teams: []string{"team_two", "a.b:c-d"}}
		if cfg := pageConfig(t, resp.Body.String()); !reflect.DeepEqual(cfg, want) {
			t.Errorf("config = %+v, want %+v", cfg, want)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DefaultTileURL, DefaultTileAttribution, "redis", "team_one", []string{"team_one", "team_two"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
	// The attribution is HTML; in the meta tag's attribute it must not
	// open a tag or end the attribute.
	page, err := withConfig([]byte(configPlaceholder), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if back := pageConfig(t, string(page)); back.TileAttribution != DefaultTileAttribution {
		t.Errorf("config does not round-trip: %+v", back)
	}
}

func TestInvalidConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"strategy":      {DefaultStrategy: "rabbit"},
		"team":          {DefaultTeam: "team one"},
		"teams":         {Teams: []string{"ok", strings.Repeat("x", 65)}},
		"tile template": {TileURL: "https://tiles.example/{z}.png"},
		"tile scheme":   {TileURL: "javascript:alert(1)//{z}{x}{y}"},
		"protocol rel":  {TileURL: "//tiles.example/{z}/{x}/{y}.png"},
	} {
		if _, err := newHandler(builtFS(), cfg); err == nil {
			t.Errorf("%s: %+v accepted", name, cfg)
		}
	}
	for _, u := range []string{"https://a.tile.example/{z}/{x}/{y}.png", "http://localhost:8090/{s}/{z}/{x}/{y}.png", "/tiles/{z}/{x}/{y}.png", NoTiles} {
		if _, err := newHandler(builtFS(), Config{TileURL: u}); err != nil {
			t.Errorf("TileURL %q rejected: %v", u, err)
		}
	}
}

func TestAssets(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{})
	const js = "/assets/main-ABCD2345.js"
	resp := get(h, http.MethodGet, js, nil)
	if resp.Code != http.StatusOK {
		t.Fatalf("hashed asset: status %d", resp.Code)
	}
	checkHeaders(t, "hashed asset", resp, map[string]string{
		"Cache-Control": cacheImmutable, "Content-Type": "text/javascript; charset=utf-8", "X-Content-Type-Options": "nosniff",
	})
	etag := resp.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	for _, c := range []struct {
		what, method, target string
		header               http.Header
		status               int
		headers              map[string]string
	}{
		{"If-None-Match", http.MethodGet, js, http.Header{"If-None-Match": {etag}}, http.StatusNotModified, nil},
		{"source map", http.MethodGet, js + ".map", nil, http.StatusOK, map[string]string{"Content-Type": "application/json"}},
		{"unhashed asset", http.MethodGet, "/assets/readme.txt", nil, http.StatusOK, map[string]string{"Cache-Control": cacheUnhashed}},
		{"HEAD", http.MethodHead, js, nil, http.StatusOK, nil},
	} {
		resp := get(h, c.method, c.target, c.header)
		if resp.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.what, resp.Code, c.status)
		}
		checkHeaders(t, c.what, resp, c.headers)
		if c.method == http.MethodHead && resp.Body.Len() != 0 {
			t.Errorf("HEAD: body of %d bytes", resp.Body.Len())
		}
	}
}

func TestServiceWorker(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{})
	resp := get(h, http.MethodGet, "/sw.js", nil)
	if resp.Code != http.StatusOK || !strings.Contains(resp.Body.String(), `"push"`) {
		t.Fatalf("GET /sw.js: status %d, body %q", resp.Code, resp.Body.String())
	}
	// A JavaScript type (browsers refuse a service worker of another), always
	// revalidated (a new build takes over), its scope allowed to be /.
	checkHeaders(t, "GET /sw.js", resp, map[string]string{
		"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": cacheIndex,
		"Service-Worker-Allowed": "/", "X-Content-Type-Options": "nosniff",
	})
	if resp := get(h, http.MethodGet, "/sw.js", http.Header{"If-None-Match": {resp.Header().Get("ETag")}}); resp.Code != http.StatusNotModified {
		t.Errorf("GET /sw.js with its ETag: status %d, want 304", resp.Code)
	}
	// Not under /assets/, and nothing in a build without one.
	if resp := get(h, http.MethodGet, "/assets/sw.js", nil); resp.Code != http.StatusNotFound {
		t.Errorf("GET /assets/sw.js: status %d, want 404", resp.Code)
	}
	fsys := builtFS()
	delete(fsys, "sw.js")
	if resp := get(newTestHandler(t, fsys, Config{}), http.MethodGet, "/sw.js", nil); resp.Code != http.StatusNotFound {
		t.Errorf("GET /sw.js of a build without it: status %d, want 404", resp.Code)
	}
}

func TestGzip(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{})
	const js = "/assets/main-ABCD2345.js"
	plain := get(h, http.MethodGet, js, nil)

	resp := get(h, http.MethodGet, js, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if resp.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(resp.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("gzip response without Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || string(unzipped) != plain.Body.String() {
		t.Errorf("gzip body differs from the plain body (%v)", err)
	}
	if resp.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("the gzip and plain variants share an ETag")
	}

	for target, accept := range map[string]string{
		js:                   "gzip;q=0, br",
		"/assets/readme.txt": "gzip", // small files are not worth compressing
	} {
		if got := get(h, http.MethodGet, target, http.Header{"Accept-Encoding": {accept}}).Header().Get("Content-Encoding"); got != "" {
			t.Errorf("GET %s, Accept-Encoding %q: Content-Encoding %q, want none", target, accept, got)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"GZIP":               true,
		"deflate, gzip":      true,
		"gzip;q=0":           false,
		"gzip; q=0.5":        true,
		"*":                  true,
		"*;q=0":              false,
		"br":                 false,
		"x-gzip-like, br":    false,
		"identity, gzip;q=1": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{})
	for _, target := range []string{"/favicon.ico", "/assets/", "/assets/missing.js", "/assets/.hidden", "/.gitkeep", "/assets/../index.html", "/tracking/redis/team_one"} {
		if resp := get(h, http.MethodGet, target, nil); resp.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, resp.Code)
		}
	}
	if resp := get(h, http.MethodPost, "/", nil); resp.Code != http.StatusMethodNotAllowed || resp.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q", resp.Code, resp.Header().Get("Allow"))
	}
}

func TestNotBuilt(t *testing.T) {
	h := newTestHandler(t, fstest.MapFS{".gitkeep": {Data: nil}}, Config{})
	if isBuilt(fstest.MapFS{".gitkeep": {Data: nil}}) {
		t.Fatal("placeholder-only dist counts as built")
	}
	resp := get(h, http.MethodGet, "/", nil)
	if resp.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.Code)
	}
	checkHeaders(t, "GET /", resp, map[string]string{"Cache-Control": cacheNotBuilt})
	if page := resp.Body.String(); !strings.Contains(page, "not built") || !strings.Contains(page, BuildCommand) {
		t.Errorf("the page does not say how to build the view:\n%s", page)
	}
	if resp := get(h, http.MethodGet, "/assets/main-ABCD2345.js", nil); resp.Code != http.StatusNotFound {
		t.Errorf("asset of an unbuilt view: status %d, want 404", resp.Code)
	}
	if resp := get(h, http.MethodHead, "/", nil); resp.Code != http.StatusServiceUnavailable || resp.Body.Len() != 0 {
		t.Errorf("HEAD /: status %d, body of %d bytes", resp.Code, resp.Body.Len())
	}
}

func TestBuiltMatchesEmbed(t *testing.T) {
	// Built reports what is embedded; either way Handler works (its
	// defaults are valid: it does not panic).
	want := http.StatusServiceUnavailable
	if Built() {
		want = http.StatusOK
	}
	if got := get(Handler(), http.MethodGet, "/", nil).Code; got != want {
		t.Errorf("Built() = %v but GET / answered %d", Built(), got)
	}
	// A build has the service worker (a dist/ from before it is stale: build.sh).
	if Built() {
		if got := get(Handler(), http.MethodGet, "/sw.js", nil).Code; got != http.StatusOK {
			t.Errorf("the built view has no service worker: GET /sw.js answered %d; run %s", got, BuildCommand)
		}
	}
}

func TestMissingPlaceholder(t *testing.T) {
	fsys := builtFS()
	fsys["index.html"] = &fstest.MapFile{Data: []byte("<!doctype html><p>no meta</p>")}
	if _, err := newHandler(fsys, Config{}); err == nil {
		t.Error("an index.html without the config placeholder was accepted")
	}
}
