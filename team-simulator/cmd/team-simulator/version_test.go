package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/buildinfo"
)

// -version prints the build and exits 0 without running anything.
func TestVersionFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-version"}, getenv(nil), output{stdout: &stdout, stderr: &stderr}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := buildinfo.Get().String("team-simulator") + "\n"; stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("printed %q (stderr %q), want %q", stdout.String(), stderr.String(), want)
	}
	if !strings.HasPrefix(stdout.String(), "team-simulator ") {
		t.Errorf("printed %q", stdout.String())
	}
}
