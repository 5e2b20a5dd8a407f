package deploycheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FindRoot returns the nearest directory at or above dir holding go.work.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work in this directory or above")
		}
		dir = parent
	}
}

func joinRoot(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, filepath.FromSlash(p))
}

// Workspace is the Go workspace at Root.
type Workspace struct {
	Root string
	Go   string   // go.work's go directive
	Use  []string // module folders, slash-separated, relative to Root ("tracking-core")
}

// LoadWorkspace reads root/go.work through `go work edit -json`.
func LoadWorkspace(root string) (*Workspace, error) {
	out, err := goCmd(root, nil, "work", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var w struct {
		Go  string
		Use []struct{ DiskPath string }
	}
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, fmt.Errorf("go work edit -json: %w", err)
	}
	ws := &Workspace{Root: root, Go: w.Go}
	for _, u := range w.Use {
		ws.Use = append(ws.Use, filepath.ToSlash(filepath.Clean(u.DiskPath)))
	}
	return ws, nil
}

var goDirective = regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`)

// GoVersions returns the go directive of go.work and of each module's go.mod,
// keyed by file.
func (w *Workspace) GoVersions() (map[string]string, error) {
	out := map[string]string{"go.work": w.Go}
	for _, m := range w.Use {
		data, err := os.ReadFile(joinRoot(w.Root, m+"/go.mod"))
		if err != nil {
			return nil, err
		}
		if g := goDirective.FindSubmatch(data); g != nil {
			out[m+"/go.mod"] = string(g[1])
		}
	}
	return out, nil
}

// Package is what `go list -json` says of one package.
type Package struct {
	ImportPath    string
	Dir           string
	Name          string
	GoFiles       []string
	EmbedPatterns []string
	Standard      bool
	Module        *struct {
		Path string
		Dir  string
		Main bool
	}
	Error *struct{ Err string }
}

// InWorkspace reports whether the package belongs to a module of the workspace.
func (p *Package) InWorkspace() bool { return p.Module != nil && p.Module.Main }

// ListDeps runs `go list -e -deps -json pattern` in dir (env added to the
// process's) and returns the packages, the named one last.
func ListDeps(dir string, env []string, pattern string) ([]*Package, error) {
	out, err := goCmd(dir, env, "list", "-e", "-deps", "-json", pattern)
	if err != nil {
		return nil, err
	}
	var pkgs []*Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(Package)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list %s: %w", pattern, err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s: no package", pattern)
	}
	return pkgs, nil
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// envNamePattern is the shape of the environment variables the code reads.
var envNamePattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// EnvNames returns the environment variable names that a binary's code can
// read: the string literals shaped like one (HTTP_ADDR, PORT) in the main
// package and in every package of the workspace it imports that reads the
// environment itself (calls os.Getenv or os.LookupEnv, such as
// tracking-core/service). Env parsing lives in cmd/ and those helpers, so
// this is what the binary accepts, give or take a literal that merely looks
// like a name ("GET"), which errs on the side of passing. The map's values
// name the file that holds each literal.
func EnvNames(pkgs []*Package) (map[string]string, error) {
	names := map[string]string{}
	for i, p := range pkgs {
		if !p.InWorkspace() {
			continue
		}
		if reads, err := readsEnv(p); err != nil {
			return nil, err
		} else if i != len(pkgs)-1 && !reads {
			continue
		}
		for _, f := range p.GoFiles {
			file := filepath.Join(p.Dir, f)
			src, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			lits, err := stringLiterals(file, src)
			if err != nil {
				return nil, err
			}
			for _, l := range lits {
				if _, seen := names[l]; !seen && envNamePattern.MatchString(l) {
					names[l] = file
				}
			}
		}
	}
	return names, nil
}

// readsEnv reports whether a file of p calls os.Getenv or os.LookupEnv.
func readsEnv(p *Package) (bool, error) {
	for _, f := range p.GoFiles {
		src, err := os.ReadFile(filepath.Join(p.Dir, f))
		if err != nil {
			return false, err
		}
		if bytes.Contains(src, []byte("os.Getenv")) || bytes.Contains(src, []byte("os.LookupEnv")) {
			return true, nil
		}
	}
	return false, nil
}

// stringLiterals returns the values of the string literals of a Go file.
func stringLiterals(file string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
		return true
	})
	return out, nil
}

// ModuleLiterals returns every string literal of the non-test Go files under
// dir (a module folder), for "does the code name X" checks.
func ModuleLiterals(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != dir && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lits, err := stringLiterals(p, src)
		if err != nil {
			return err
		}
		for _, l := range lits {
			out[l] = true
		}
		return nil
	})
	return out, err
}

// PackageLiterals returns the string literals of the package's non-test files.
func PackageLiterals(p *Package) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range p.GoFiles {
		file := filepath.Join(p.Dir, f)
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		lits, err := stringLiterals(file, src)
		if err != nil {
			return nil, err
		}
		for _, l := range lits {
			out[l] = true
		}
	}
	return out, nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
