// Package configtest checks a binary's variables (config.Env.Vars after it
// has read its configuration) against the configuration table of the
// repository's README, so that the table cannot drift from the code.
package configtest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/config"
)

// Row is one row of the README's configuration table, for one variable (a
// cell naming several gives a row for each).
type Row struct {
	Name    string
	Scope   []string // the service column split at commas, lower case, without (...)
	Default string   // the default column as written
	Line    int
}

// Scopes are the words by which the README's service column names each
// binary.
var Scopes = map[string][]string{
	"tracking-redis": {"all", "tracking services", "tracking-redis"},
	"tracking-kafka": {"all", "tracking services", "tracking-kafka"},
	"api-gateway":    {"all", "gateway", "api-gateway"},
	"team-simulator": {"team-simulator"},
	"platform":       {"platform"},
}

// CheckREADME fails t when a variable in vars, those binary reads, has no
// row in the README table for binary (see Scopes), when a non-empty default
// is not written in the row's default column (`15s`), or when a row for
// binary names a variable that is not in vars.
func CheckREADME(t testing.TB, binary string, vars []config.Var) {
	t.Helper()
	scopes, ok := Scopes[binary]
	if !ok {
		t.Fatalf("configtest: unknown binary %q", binary)
	}
	rows, err := ReadREADME()
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, v := range vars {
		read[v.Name] = true
		var found []Row
		for _, r := range rows {
			if r.Name == v.Name && r.In(scopes...) {
				found = append(found, r)
			}
		}
		if len(found) == 0 {
			t.Errorf("README: no row documents %s for %s (default %q)", v.Name, strings.Join(scopes, "/"), v.Default)
			continue
		}
		if v.Default == "" {
			continue
		}
		ok := false
		for _, r := range found {
			ok = ok || strings.Contains(r.Default, "`"+v.Default+"`")
		}
		if !ok {
			t.Errorf("README line %d: the default of %s is `%s` in the code, %q in the table", found[0].Line, v.Name, v.Default, found[0].Default)
		}
	}
	for _, r := range rows {
		if r.In(scopes...) && !read[r.Name] {
			t.Errorf("README line %d: %s is documented for %s but not read", r.Line, r.Name, strings.Join(r.Scope, ", "))
		}
	}
}

// For reports whether the row's service column names binary (see Scopes).
func (r Row) For(binary string) bool { return r.In(Scopes[binary]...) }

// In reports whether the row's service column names one of scopes.
func (r Row) In(scopes ...string) bool {
	for _, s := range r.Scope {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

var (
	backticked = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	parens     = regexp.MustCompile(`\([^)]*\)`)
)

// ReadREADME returns the rows of the README's table whose header starts
// with "| variable | service | default |".
func ReadREADME() ([]Row, error) {
	path, err := readmePath()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) >= 3 && cells[0] == "variable" && cells[1] == "service" && cells[2] == "default" {
			in = true
			continue
		}
		if !in || len(cells) < 3 || strings.HasPrefix(cells[0], "---") {
			continue
		}
		var scope []string
		for _, s := range strings.Split(parens.ReplaceAllString(cells[1], ""), ",") {
			scope = append(scope, strings.ToLower(strings.TrimSpace(s)))
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			rows = append(rows, Row{Name: m[1], Scope: scope, Default: cells[2], Line: n})
		}
	}
	return rows, sc.Err()
}

// readmePath finds README.md beside go.work, above the working directory.
func readmePath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, "README.md"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
