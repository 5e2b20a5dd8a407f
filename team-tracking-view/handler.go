package view

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	indexFile = "index.html"
	assetsDir = "assets"
	// swFile is the view's service worker (web/sw/sw.ts), served at /sw.js:
	// a service worker's scope is at most the directory of its script, and
	// the view's push notifications want the whole view (scope /).
	swFile = "sw.js"

	// configPlaceholder is the meta tag of web/index.html that the handler
	// replaces with the Config.
	configPlaceholder = `<meta name="tracking-view-config" content="{}">`

	// BuildCommand builds the view, from the repository root.
	BuildCommand = "team-tracking-view/build.sh"
)

// Cache policies: the page is revalidated on every load (so a new build is
// picked up at once); assets carry a content hash in their name and never
// change, so browsers may keep them for a year.
const (
	cacheIndex     = "no-cache" // also the service worker's: a new build is picked up at once
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheUnhashed  = "public, max-age=300"
	cacheNotBuilt  = "no-store"
)

// hashedName matches the names esbuild gives outputs: name-HASH.ext.
var hashedName = regexp.MustCompile(`-[A-Z0-9]{8}\.[a-z0-9.]+$`)

// Handler serves the embedded view with the default Config (OpenStreetMap
// tiles, redis and team_one by default). Mount it at "/".
func Handler() http.Handler {
	h, err := New(Config{})
	if err != nil {
		panic(err) // the defaults are valid; a test proves it
	}
	return h
}

// New returns a handler of the embedded view that tells the page cfg. It
// fails when cfg is invalid. Mount it at "/": it serves GET and HEAD of
// "/", "/index.html", "/sw.js" (the service worker) and "/assets/...", and
// 404 for any other path.
func New(cfg Config) (http.Handler, error) {
	return newHandler(builtFiles(), cfg)
}

type handler struct {
	index  *file // nil when the view is not built
	sw     *file // nil when the build has no service worker
	assets map[string]*file
}

func newHandler(fsys fs.FS, cfg Config) (*handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &handler{assets: map[string]*file{}}
	if !isBuilt(fsys) {
		return h, nil
	}
	page, err := fs.ReadFile(fsys, indexFile)
	if err != nil {
		return nil, fmt.Errorf("view: read %s: %w", indexFile, err)
	}
	page, err = withConfig(page, cfg)
	if err != nil {
		return nil, err
	}
	h.index = newFile(indexFile, page, cacheIndex)
	if sw, err := fs.ReadFile(fsys, swFile); err == nil {
		h.sw = newFile(swFile, sw, cacheIndex)
		// Its scope may be the whole origin (it is there already; this says
		// so for a script served under a prefix by a proxy too).
		h.sw.extra = http.Header{"Service-Worker-Allowed": {"/"}}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("view: read %s: %w", swFile, err)
	}

	err = fs.WalkDir(fsys, assetsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		cache := cacheUnhashed
		if hashedName.MatchString(d.Name()) {
			cache = cacheImmutable
		}
		h.assets[strings.TrimPrefix(p, assetsDir+"/")] = newFile(d.Name(), body, cache)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("view: read %s: %w", assetsDir, err)
	}
	return h, nil
}

// withConfig writes cfg into the page's config meta tag.
func withConfig(page []byte, cfg Config) ([]byte, error) {
	if !bytes.Contains(page, []byte(configPlaceholder)) {
		return nil, fmt.Errorf("view: %s lacks the config placeholder %s", indexFile, configPlaceholder)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("view: encode config: %w", err)
	}
	meta := `<meta name="tracking-view-config" content="` + html.EscapeString(string(js)) + `">`
	return bytes.Replace(page, []byte(configPlaceholder), []byte(meta), 1), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/"+indexFile:
		if h.index == nil {
			serveNotBuilt(w, r)
			return
		}
		h.index.serve(w, r)
	case p == "/"+swFile:
		if h.sw == nil {
			http.NotFound(w, r)
			return
		}
		h.sw.serve(w, r)
	case strings.HasPrefix(p, "/"+assetsDir+"/"):
		f, ok := h.assets[strings.TrimPrefix(p, "/"+assetsDir+"/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f.serve(w, r)
	default:
		http.NotFound(w, r)
	}
}

// file is one servable file, its validator and, for text, a gzip variant
// made on first request.
type file struct {
	name         string
	contentType  string
	cacheControl string
	body         []byte
	etag         string
	extra        http.Header // more headers of every response

	gzipOnce sync.Once
	gzipBody []byte // nil when compression does not pay
}

func newFile(name string, body []byte, cacheControl string) *file {
	sum := sha256.Sum256(body)
	return &file{
		name:         name,
		contentType:  contentType(name),
		cacheControl: cacheControl,
		body:         body,
		etag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

func (f *file) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cacheControl)
	hdr.Set("X-Content-Type-Options", "nosniff")
	for k, v := range f.extra {
		hdr[k] = v
	}
	body, etag := f.body, f.etag
	if compressible(f.contentType) {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			if gz := f.gzipped(); gz != nil {
				hdr.Set("Content-Encoding", "gzip")
				body, etag = gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			}
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), Range and HEAD.
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

func (f *file) gzipped() []byte {
	f.gzipOnce.Do(func() {
		if len(f.body) < 1024 {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		_, _ = zw.Write(f.body)                                  // a bytes.Buffer does not fail
		_ = zw.Close()
		if buf.Len() < len(f.body)*9/10 {
			f.gzipBody = buf.Bytes()
		}
	})
	return f.gzipBody
}

var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".map":   "application/json",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// contentType is fixed per extension, so responses do not depend on the
// host's mime.types.
func contentType(name string) string {
	ext := path.Ext(name)
	return cmp.Or(contentTypes[ext], mime.TypeByExtension(ext), "application/octet-stream")
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") || strings.HasPrefix(contentType, "image/svg+xml")
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(param), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}
