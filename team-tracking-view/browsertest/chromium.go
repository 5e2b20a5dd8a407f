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
// the test, or fails it when the environment variable CI is set (CI must
// run the browser tests, not skip them silently).
func RequireChromium(t testing.TB) string {
	t.Helper()
	path := ChromiumPath()
	if path != "" {
		return path
	}
	const msg = "headless Chromium not found (set CHROMIUM_PATH, or install it: apt-get install -y chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so the browser test fails instead of skipping")
	}
	t.Skip(msg + "; skipping the browser test")
	return ""
}
