package testsupport

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI (CI is set): there, a test that
// needs a real server fails when it is missing instead of skipping.
func InCI() bool { return os.Getenv("CI") != "" }

// Env returns the environment variable name, which the test scripts set for
// a real server (scripts/test-services.sh). Without it the test is skipped,
// or fails in CI, with hint saying how to provide it.
func Env(t testing.TB, name, hint string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	Missing(t, name+" is not set ("+hint+")")
	return ""
}

// Missing skips the test for want of what is described, or fails it in CI,
// which must run every test.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatal(what + "; CI is set, so this fails instead of skipping")
	}
	t.Skip(what + "; skipping")
}
