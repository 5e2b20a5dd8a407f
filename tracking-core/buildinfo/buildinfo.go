package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set with -ldflags -X (see the package doc); empty in a plain go build.
var (
	version string
	commit  string
	date    string
)

// Unknown is the value of a field nothing could tell.
const Unknown = "unknown"

// Info describes a build.
type Info struct {
	Version   string `json:"version"`   // v1.2.0, a pseudo-version, "(devel)" or "unknown"
	Commit    string `json:"commit"`    // the git revision, "-dirty" added for a modified tree
	Date      string `json:"date"`      // RFC 3339: the build date, or the commit's time
	GoVersion string `json:"goVersion"` // the toolchain that built it
}

var (
	once   sync.Once
	cached Info
)

// Get returns this binary's build information.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		cached = resolve(version, commit, date, bi)
	})
	return cached
}

// resolve takes the linker's values first, then the toolchain's stamps.
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi != nil {
		if i.Version == "" && bi.Main.Version != "" {
			i.Version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit == "" && i.Commit != "" {
			i.Commit += "-dirty"
		}
		if bi.GoVersion != "" {
			i.GoVersion = bi.GoVersion
		}
	}
	if i.Version == "" {
		i.Version = Unknown
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	if i.Date == "" {
		i.Date = Unknown
	}
	return i
}

// String is the line -version prints: "name v1.2.0 (commit 0123abc, built
// 2026-12-03T10:00:00Z, go1.26.8)".
func (i Info) String(name string) string {
	return fmt.Sprintf("%s %s (commit %s, built %s, %s)", name, i.Version, i.Commit, i.Date, i.GoVersion)
}

// VersionFlag reports whether args ask for the version only: a first
// argument -version or --version. The binaries configured by the
// environment take no other flag; the simulator checks it before its own.
func VersionFlag(args []string) bool {
	return len(args) > 0 && (args[0] == "-version" || args[0] == "--version")
}

// PrintIfAsked writes the version line of name to w and returns true when
// args ask for it (VersionFlag): main then exits 0.
func PrintIfAsked(args []string, w io.Writer, name string) bool {
	if !VersionFlag(args) {
		return false
	}
	fmt.Fprintln(w, Get().String(name))
	return true
}
