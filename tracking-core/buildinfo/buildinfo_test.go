package buildinfo

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func stamped(settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/teamtrack/tracking-redis", Version: "v0.3.0"}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestResolve(t *testing.T) {
	vcs := stamped("vcs.revision", "abc123", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "true")
	for _, c := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"linker values win", "v1.2.0", "0123abc", "2026-12-03T10:00:00Z", vcs,
			Info{"v1.2.0", "0123abc", "2026-12-03T10:00:00Z", "go1.26.8"}},
		{"toolchain stamps fill the rest; a modified tree is dirty", "", "", "", vcs,
			Info{"v0.3.0", "abc123-dirty", "2026-12-01T10:00:00Z", "go1.26.8"}},
		{"a clean tree", "", "", "", stamped("vcs.revision", "abc123", "vcs.modified", "false"),
			Info{"v0.3.0", "abc123", Unknown, "go1.26.8"}},
		{"no stamps at all", "", "", "", nil, Info{Unknown, Unknown, Unknown, ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := resolve(c.version, c.commit, c.date, c.bi)
			if c.want.GoVersion == "" {
				c.want.GoVersion = got.GoVersion // runtime.Version()
				if !strings.HasPrefix(got.GoVersion, "go") {
					t.Errorf("GoVersion %q, want the runtime's", got.GoVersion)
				}
			}
			if got != c.want {
				t.Errorf("resolve = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	for args, want := range map[string]bool{"-version": true, "--version": true, "": false, "load -version": false, "-v": false} {
		if got := VersionFlag(strings.Fields(args)); got != want {
			t.Errorf("VersionFlag(%q) = %v, want %v", args, got, want)
		}
	}
	var out bytes.Buffer
	if !PrintIfAsked([]string{"-version"}, &out, "tracking-redis") {
		t.Fatal("PrintIfAsked(-version) = false")
	}
	i := Get()
	if want := "tracking-redis " + i.Version + " (commit " + i.Commit; !strings.HasPrefix(out.String(), want) {
		t.Errorf("printed %q, want it to start with %q", out.String(), want)
	}
	out.Reset()
	if PrintIfAsked([]string{"load"}, &out, "x") || out.Len() != 0 {
		t.Errorf("PrintIfAsked(load) printed %q", out.String())
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Collector())
	i := Get()
	want := `# HELP build_info The build this process runs: version, commit, build date and Go version as labels; always 1.
# TYPE build_info gauge
build_info{commit="` + i.Commit + `",date="` + i.Date + `",goversion="` + i.GoVersion + `",version="` + i.Version + `"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "build_info"); err != nil {
		t.Error(err)
	}
	if h := Health(); h["status"] != "ok" || h["version"] != i.Version || h["commit"] != i.Commit || h["date"] != i.Date {
		t.Errorf("Health() = %v", h)
	}
}
