package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A release build (scripts/release.sh's ldflags) prints what it was stamped
// with on -version.
func TestVersionFlagOfAReleaseBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out, err := exec.Command("../../../scripts/release.sh", "ldflags", "v9.8.7-test", "0123abcd", "2026-12-03T10:00:00Z").Output()
	if err != nil {
		t.Fatalf("release.sh ldflags: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tracking-redis")
	build := exec.Command("go", "build", "-ldflags", strings.TrimSpace(string(out)), "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	got, err := exec.Command(bin, "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("tracking-redis -version: %v\n%s", err, got)
	}
	if want := "tracking-redis v9.8.7-test (commit 0123abcd, built 2026-12-03T10:00:00Z, go"; !strings.HasPrefix(string(got), want) {
		t.Errorf("tracking-redis -version printed %q, want it to start with %q", got, want)
	}
}
