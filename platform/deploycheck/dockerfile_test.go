package deploycheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The build runs in workspace mode: go refuses a go.work whose modules'
// go.mod files are missing, so the Dockerfile copies every one.
func TestDockerfileCopiesTheWorkspace(t *testing.T) {
	dir := root(t)
	cmd := exec.Command("go", "work", "edit", "-json")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go work edit -json: %v", err)
	}
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &work); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range work.Use {
		m := strings.TrimPrefix(filepath.ToSlash(u.DiskPath), "./")
		if line := "COPY " + m + "/go.mod " + m + "/go.sum " + m + "/"; !strings.Contains(string(df), line) {
			t.Errorf("Dockerfile: no %q (module %s of go.work)", line, m)
		}
	}
}
