package view

import (
	"compress/gzip"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
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

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndexCarriesConfig(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{TileURL: NoTiles, DefaultTeam: "team_two", Teams: []string{"team_two", "a.b:c-d"}})
	for _, target := range []string{"/", "/index.html", "/?strategy=kafka&team=team_one"} {
		resp := get(t, h, http.MethodGet, target, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", target, resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != cacheIndex {
			t.Errorf("GET %s: Cache-Control %q, want %q", target, got, cacheIndex)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, got)
		}
		page := body(t, resp)
		m := regexp.MustCompile(`<meta name="tracking-view-config" content="([^"]*)">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("GET %s: no config meta in %s", target, page)
		}
		var cfg Config
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
			t.Fatalf("config meta %q: %v", m[1], err)
		}
		want := Config{TileURL: NoTiles, DefaultStrategy: "redis", DefaultTeam: "team_two", Teams: []string{"team_two", "a.b:c-d"}}
		if cfg.TileURL != want.TileURL || cfg.TileAttribution != "" || cfg.DefaultStrategy != want.DefaultStrategy ||
			cfg.DefaultTeam != want.DefaultTeam || strings.Join(cfg.Teams, ",") != strings.Join(want.Teams, ",") {
			t.Errorf("config = %+v, want %+v", cfg, want)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TileURL != DefaultTileURL || cfg.TileAttribution != DefaultTileAttribution ||
		cfg.DefaultStrategy != "redis" || cfg.DefaultTeam != "team_one" || len(cfg.Teams) != 2 {
		t.Errorf("defaults = %+v", cfg)
	}
	// The attribution is HTML; in the meta tag's attribute it must not
	// open a tag or end the attribute.
	page, err := withConfig([]byte(configPlaceholder), cfg)
	if err != nil {
		t.Fatal(err)
	}
	content := strings.TrimSuffix(strings.TrimPrefix(string(page), `<meta name="tracking-view-config" content="`), `">`)
	if strings.ContainsAny(content, `<>"`) {
		t.Errorf("config not escaped for an attribute: %s", page)
	}
	var back Config
	if err := json.Unmarshal([]byte(html.UnescapeString(content)), &back); err != nil || back.TileAttribution != DefaultTileAttribution {
		t.Errorf("config does not round-trip: %+v, %v", back, err)
	}
	// Handler must not panic, whatever was embedded.
	_ = Handler()
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

	resp := get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hashed asset: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != cacheImmutable {
		t.Errorf("hashed asset: Cache-Control %q, want %q", got, cacheImmutable)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("hashed asset: Content-Type %q", got)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}

	resp = get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}

	resp = get(t, h, http.MethodGet, "/assets/main-ABCD2345.js.map", nil)
	if got := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || got != "application/json" {
		t.Errorf("source map: status %d, Content-Type %q", resp.StatusCode, got)
	}

	resp = get(t, h, http.MethodGet, "/assets/readme.txt", nil)
	if got := resp.Header.Get("Cache-Control"); got != cacheUnhashed {
		t.Errorf("unhashed asset: Cache-Control %q, want %q", got, cacheUnhashed)
	}

	resp = get(t, h, http.MethodHead, "/assets/main-ABCD2345.js", nil)
	if resp.StatusCode != http.StatusOK || body(t, resp) != "" {
		t.Errorf("HEAD: status %d", resp.StatusCode)
	}
}

func TestGzip(t *testing.T) {
	h := newTestHandler(t, builtFS(), Config{})
	plain := body(t, get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", nil))

	resp := get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("gzip response without Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(unzipped) != plain {
		t.Error("gzip body differs from the plain body")
	}
	plainETag := get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", nil).Header.Get("ETag")
	if resp.Header.Get("ETag") == plainETag {
		t.Error("the gzip and plain variants share an ETag")
	}

	resp = get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", http.Header{"Accept-Encoding": {"gzip;q=0, br"}})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	// Small files are not worth compressing.
	resp = get(t, h, http.MethodGet, "/assets/readme.txt", http.Header{"Accept-Encoding": {"gzip"}})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("a 5-byte file was compressed")
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
		if resp := get(t, h, http.MethodGet, target, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, resp.StatusCode)
		}
	}
	resp := get(t, h, http.MethodPost, "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestNotBuilt(t *testing.T) {
	h := newTestHandler(t, fstest.MapFS{".gitkeep": {Data: nil}}, Config{})
	if isBuilt(fstest.MapFS{".gitkeep": {Data: nil}}) {
		t.Fatal("placeholder-only dist counts as built")
	}
	resp := get(t, h, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != cacheNotBuilt {
		t.Errorf("Cache-Control %q, want %q", got, cacheNotBuilt)
	}
	page := body(t, resp)
	if !strings.Contains(page, "not built") || !strings.Contains(page, BuildCommand) {
		t.Errorf("the page does not say how to build the view:\n%s", page)
	}
	if resp := get(t, h, http.MethodGet, "/assets/main-ABCD2345.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("asset of an unbuilt view: status %d, want 404", resp.StatusCode)
	}
	if resp := get(t, h, http.MethodHead, "/", nil); resp.StatusCode != http.StatusServiceUnavailable || body(t, resp) != "" {
		t.Errorf("HEAD /: status %d", resp.StatusCode)
	}
}

func TestBuiltMatchesEmbed(t *testing.T) {
	// Built reports what is embedded; either way the handler works.
	resp := get(t, Handler(), http.MethodGet, "/", nil)
	want := http.StatusServiceUnavailable
	if Built() {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		t.Errorf("Built() = %v but GET / answered %d", Built(), resp.StatusCode)
	}
}

func TestMissingPlaceholder(t *testing.T) {
	fsys := builtFS()
	fsys["index.html"] = &fstest.MapFile{Data: []byte("<!doctype html><p>no meta</p>")}
	if _, err := newHandler(fsys, Config{}); err == nil {
		t.Error("an index.html without the config placeholder was accepted")
	}
}
