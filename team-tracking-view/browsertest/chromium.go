package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// DefaultChromium is where Debian's chromium package puts the browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumPath finds the browser: $CHROMIUM_PATH if set, else
// /usr/bin/chromium, else chromium, chromium-browser or google-chrome on
// $PATH. It returns "" when there is none.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		return ""
	}
	for _, name := range []string{DefaultChromium, "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// RequireChromium returns the browser's path. Without a browser it skips
// the test (or fails it: see Require).
func RequireChromium(t testing.TB) string {
	t.Helper()
	path := ChromiumPath()
	Require(t, path != "", "headless Chromium not found (set CHROMIUM_PATH, or install it: apt-get install -y chromium)")
	return path
}

// Require skips a browser test when ok is false, or fails it when the
// environment variable CI is set (CI must run the browser tests, not skip
// them silently). missing says what is missing and how to get it.
func Require(t testing.TB, ok bool, missing string) {
	t.Helper()
	switch {
	case ok:
	case os.Getenv("CI") != "":
		t.Fatal(missing + "; CI is set, so the browser test fails instead of skipping")
	default:
		t.Skip(missing + "; skipping the browser test")
	}
}
