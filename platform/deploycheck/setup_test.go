package deploycheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoFacts is everything the checks read, loaded once.
type repoFacts struct {
	Root      string
	Compose   *Compose
	Ignore    *DockerIgnore
	Workspace *Workspace
	Readme    []ConfigRow

	mu       sync.Mutex
	binaries map[string]*binary
}

var (
	repoOnce sync.Once
	repo     *repoFacts
	repoErr  error
)

const composeFile = "docker-compose.yml"

func loadRepo(t *testing.T) *repoFacts {
	t.Helper()
	repoOnce.Do(func() {
		r := &repoFacts{binaries: map[string]*binary{}}
		wd, err := os.Getwd()
		if err != nil {
			repoErr = err
			return
		}
		if r.Root, err = FindRoot(wd); err != nil {
			repoErr = err
			return
		}
		if r.Compose, err = ParseCompose(filepath.Join(r.Root, composeFile)); err != nil {
			repoErr = err
			return
		}
		if r.Ignore, err = ParseDockerIgnore(r.Root); err != nil {
			repoErr = fmt.Errorf(".dockerignore: %w", err)
			return
		}
		if r.Workspace, err = LoadWorkspace(r.Root); err != nil {
			repoErr = err
			return
		}
		if r.Readme, err = ParseConfigTables(filepath.Join(r.Root, "README.md")); err != nil {
			repoErr = fmt.Errorf("README.md: %w", err)
			return
		}
		repo = r
	})
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repo
}

// binary is a Go service as its Compose service, Dockerfile and code see it.
type binary struct {
	Spec       goService
	Service    *ComposeService // nil when Compose lacks it
	Dockerfile *Dockerfile
	Build      *Stage     // the stage that runs go build
	GoBuild    GoBuild    // its go build
	Target     string     // the package as given to go list, from the repository root
	Pkgs       []*Package // go list -deps of Target, Target last
	Main       *Package
	Err        error // why Dockerfile, Build, GoBuild or Pkgs could not be had
}

// binary returns the facts of a Go service; b.Err says what is missing.
func (r *repoFacts) binary(spec goService) *binary {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.binaries[spec.Name]; ok {
		return b
	}
	b := &binary{Spec: spec, Service: r.Compose.Services[spec.Name]}
	r.binaries[spec.Name] = b
	b.Err = r.loadBinary(b)
	return b
}

func (r *repoFacts) loadBinary(b *binary) error {
	dfPath := b.Spec.Name + "/Dockerfile"
	if b.Service != nil && b.Service.Build != nil && b.Service.Build.Dockerfile != "" {
		dfPath = path.Clean(b.Service.Build.Dockerfile)
	}
	df, err := ParseDockerfile(r.Root, dfPath)
	if err != nil {
		return fmt.Errorf("Dockerfile of %s: %w", b.Spec.Name, err)
	}
	b.Dockerfile = df
	for _, s := range df.Stages {
		if builds := s.GoBuilds(); len(builds) > 0 {
			if b.Build != nil || len(builds) > 1 {
				return fmt.Errorf("%s: more than one go build; the checks expect one binary per Dockerfile", df.Path)
			}
			b.Build, b.GoBuild = s, builds[0]
		}
	}
	if b.Build == nil {
		return fmt.Errorf("%s: no RUN go build in any stage", df.Path)
	}
	if len(b.GoBuild.Packages) != 1 {
		return fmt.Errorf("%s: go build of %v: the checks expect one main package", b.GoBuild.Instruction.Where(df), b.GoBuild.Packages)
	}
	target := b.GoBuild.Packages[0]
	if strings.HasPrefix(target, ".") {
		// A relative package is relative to the WORKDIR of the RUN, which
		// stands for a repository path under the stage's mirror root.
		mirror, err := MirrorRoot(r.Root, df, b.Build)
		if err != nil {
			return err
		}
		wd := workdirAt(b.Build, b.GoBuild.Instruction.Line)
		rel, ok := strings.CutPrefix(path.Join(wd, target), mirror)
		if !ok {
			return fmt.Errorf("%s: go build %s runs in %s, outside %s where the stage holds the repository", b.GoBuild.Instruction.Where(df), target, wd, mirror)
		}
		target = "./" + strings.TrimPrefix(rel, "/")
	}
	b.Target = target
	pkgs, err := ListDeps(r.Root, nil, target)
	if err != nil {
		return fmt.Errorf("%s builds %s, which the workspace cannot list: %w", df.Path, target, err)
	}
	b.Pkgs = pkgs
	b.Main = pkgs[len(pkgs)-1]
	var errs []string
	for _, p := range pkgs {
		if p.Error != nil {
			errs = append(errs, p.ImportPath+": "+p.Error.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s builds %s, which is not a package of the workspace yet or does not load (is the binary written?):\n\t%s", df.Path, target, strings.Join(errs, "\n\t"))
	}
	if b.Main.Name != "main" {
		return fmt.Errorf("%s builds %s, which is package %s, not a command", df.Path, target, b.Main.Name)
	}
	return nil
}

// workdirAt returns the WORKDIR in effect at line in stage s.
func workdirAt(s *Stage, line int) string {
	wd := "/"
	if strings.HasPrefix(s.Base, "golang:") {
		wd = "/go"
	}
	for _, in := range s.Instructions {
		if in.Line >= line {
			break
		}
		if in.Cmd == "WORKDIR" {
			p := strings.TrimSpace(in.Rest)
			if !path.IsAbs(p) {
				p = path.Join(wd, p)
			}
			wd = path.Clean(p)
		}
	}
	return wd
}

// needBinary returns the service's facts, failing the test (not skipping)
// when they cannot be had.
func needBinary(t *testing.T, r *repoFacts, spec goService) *binary {
	t.Helper()
	b := r.binary(spec)
	if b.Err != nil {
		t.Fatalf("service %s: %v", spec.Name, b.Err)
	}
	return b
}

// composeWhere names a service's line of docker-compose.yml.
func composeWhere(service string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d: service %s", composeFile, line, service)
	}
	return fmt.Sprintf("%s: service %s", composeFile, service)
}
