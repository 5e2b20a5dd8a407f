package deploycheck

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Emulation is the outcome of EmulateStage.
type Emulation struct {
	Root    string            // the directory standing for the container's /
	Outputs map[string]string // each `go build -o` container path -> its file here
	Skipped []string          // RUN commands not run (not go commands)
}

// EmulateStage replays stage s of df on this machine, as far as a Go build
// needs, in dir (empty, standing for the container's /): WORKDIR, ENV, COPY
// from the build context root (honouring ign), COPY --from an earlier stage
// (taken from the repository's working tree, see MirrorRoot: that stage's
// product, e.g. the view's bundle, is what a developer's build leaves there),
// and the RUN commands that are go commands (go mod download is replayed as
// go list -m all, see below). So a build that passes here had
// everything it needs from what the Dockerfile copies, and nothing else of
// the repository.
func EmulateStage(ctx context.Context, root string, ign *DockerIgnore, df *Dockerfile, s *Stage, dir string) (*Emulation, error) {
	em := &Emulation{Root: dir, Outputs: map[string]string{}}
	workdir := "/"
	if strings.HasPrefix(s.Base, "golang:") {
		workdir = "/go" // the golang images' WORKDIR
	}
	env := map[string]string{}
	host := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	abs := func(p string) string {
		if path.IsAbs(p) {
			return path.Clean(p)
		}
		return path.Join(workdir, p)
	}
	for _, in := range s.Instructions {
		switch in.Cmd {
		case "WORKDIR":
			workdir = abs(strings.TrimSpace(in.Rest))
			if err := os.MkdirAll(host(workdir), 0o755); err != nil {
				return nil, err
			}
		case "ENV":
			for k, v := range parseEnvInstruction(in.Rest) {
				env[k] = v
			}
		case "COPY", "ADD":
			w := in.Words()
			if len(w) < 2 {
				return nil, fmt.Errorf("%s: needs a source and a destination", in.Where(df))
			}
			srcs, dest := w[:len(w)-1], w[len(w)-1]
			destDir := strings.HasSuffix(dest, "/") || len(srcs) > 1
			dest = abs(dest)
			from, isFrom := in.Flag("from")
			for _, src := range srcs {
				var err error
				if isFrom {
					err = copyFromStage(root, df, from, src, host(dest), destDir)
				} else {
					err = copyFromContext(root, ign, src, host(dest), destDir)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %w", in.Where(df), err)
				}
			}
		case "RUN":
			for _, words := range shellCommands(in.Rest) {
				cmdEnv := map[string]string{}
				i := 0
				for ; i < len(words); i++ {
					k, v, ok := strings.Cut(words[i], "=")
					if !ok || !isEnvName(k) {
						break
					}
					cmdEnv[k] = v
				}
				words = words[i:]
				if len(words) == 0 || words[0] != "go" {
					em.Skipped = append(em.Skipped, strings.Join(words, " "))
					continue
				}
				args := append([]string(nil), words[1:]...)
				if len(args) >= 2 && args[0] == "mod" && args[1] == "download" {
					// It fills the module cache with every module of the
					// workspace, test-only ones too: here, loading the module
					// graph proves the copied module files suffice, and go
					// build fetches what it needs.
					args = []string{"list", "-m", "all"}
				}
				if len(args) > 0 && args[0] == "build" {
					b, _ := parseGoBuild(words)
					if b.Output != "" {
						out := abs(b.Output)
						em.Outputs[out] = host(out)
						args = replaceOutput(args, host(out))
					}
				}
				if err := runGo(ctx, host(workdir), env, cmdEnv, args); err != nil {
					return nil, fmt.Errorf("%s: %w", in.Where(df), err)
				}
			}
		}
	}
	return em, nil
}

func replaceOutput(args []string, out string) []string {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-o" && i+1 < len(args):
			args[i+1] = out
			return args
		case strings.HasPrefix(args[i], "-o="):
			args[i] = "-o=" + out
			return args
		}
	}
	return args
}

// runGo runs the go command as the builder stage would: the stage's ENV and
// the command's own assignments on top of this process's environment less
// what would let the host's settings decide (GOWORK, GOOS, GOARCH,
// CGO_ENABLED), with the golang images' GOTOOLCHAIN=local.
func runGo(ctx context.Context, dir string, stageEnv, cmdEnv map[string]string, args []string) error {
	drop := map[string]bool{"GOWORK": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOTOOLCHAIN": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "GOTOOLCHAIN=local")
	for _, m := range []map[string]string{stageEnv, cmdEnv} {
		for _, k := range sortedKeys(m) {
			env = append(env, k+"="+m[k])
		}
	}
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// copyFromContext does COPY src dest for a source in the build context.
func copyFromContext(root string, ign *DockerIgnore, src, dest string, destDir bool) error {
	rel := strings.TrimPrefix(path.Clean("/"+src), "/")
	matches, err := filepath.Glob(joinRoot(root, rel))
	if err != nil {
		return err
	}
	var kept []string
	for _, m := range matches {
		r, _ := filepath.Rel(root, m)
		if !ign.Excluded(filepath.ToSlash(r)) {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		if len(matches) > 0 {
			return fmt.Errorf("COPY %s: excluded from the build context by .dockerignore", src)
		}
		return fmt.Errorf("COPY %s: no such file in the build context (the repository root)", src)
	}
	destDir = destDir || len(kept) > 1
	for _, m := range kept {
		if err := copyPath(root, ign, m, dest, destDir); err != nil {
			return err
		}
	}
	return nil
}

// copyFromStage does COPY --from=stage src dest, taking src from where the
// stage's file system mirrors the repository (MirrorRoot).
func copyFromStage(root string, df *Dockerfile, from, src, dest string, destDir bool) error {
	st := df.Stage(from)
	if st == nil {
		return fmt.Errorf("COPY --from=%s: no such stage (copying from an image is not emulated)", from)
	}
	mirror, err := MirrorRoot(root, df, st)
	if err != nil {
		return err
	}
	rel, ok := strings.CutPrefix(path.Clean(src), mirror)
	if !ok {
		return fmt.Errorf("COPY --from=%s %s: outside %s, where stage %s mirrors the repository", from, src, mirror, from)
	}
	rel = strings.TrimPrefix(rel, "/")
	hostSrc := joinRoot(root, rel)
	if _, err := os.Stat(hostSrc); err != nil {
		return fmt.Errorf("COPY --from=%s %s: stage %s makes it; emulating it needs %s in the working tree: %w", from, src, from, rel, err)
	}
	return copyPath(root, nil, hostSrc, dest, destDir)
}

// MirrorRoot returns the directory under which stage s holds the build
// context's files at their repository paths ("/src" when it copies
// team-tracking-view/web/ to /src/team-tracking-view/web/). Every COPY from
// the context in s must agree on it.
func MirrorRoot(root string, df *Dockerfile, s *Stage) (string, error) {
	workdir := "/"
	mirror := ""
	for _, in := range s.Instructions {
		switch in.Cmd {
		case "WORKDIR":
			p := strings.TrimSpace(in.Rest)
			if !path.IsAbs(p) {
				p = path.Join(workdir, p)
			}
			workdir = path.Clean(p)
		case "COPY", "ADD":
			if _, ok := in.Flag("from"); ok {
				continue
			}
			w := in.Words()
			if len(w) < 2 {
				continue
			}
			srcs, dest := w[:len(w)-1], w[len(w)-1]
			toDir := strings.HasSuffix(dest, "/") || len(srcs) > 1
			if !path.IsAbs(dest) {
				dest = path.Join(workdir, dest)
			}
			for _, src := range srcs {
				rel := strings.TrimPrefix(path.Clean("/"+src), "/")
				if strings.ContainsAny(rel, "*?[") {
					continue
				}
				at := path.Clean(dest)
				if fi, err := os.Stat(joinRoot(root, rel)); err == nil && !fi.IsDir() && toDir {
					at = path.Join(at, path.Base(rel)) // a file into a directory
				}
				if rel == "." {
					rel = ""
				}
				r, ok := strings.CutSuffix(at, "/"+rel)
				if rel == "" {
					r, ok = at, true
				}
				if !ok {
					return "", fmt.Errorf("%s: copies %s to %s, not at its repository path under one root, so what stage %q makes cannot be mapped back to the repository", in.Where(df), src, at, s.Name)
				}
				if r == "" {
					r = "/"
				}
				if mirror != "" && r != mirror {
					return "", fmt.Errorf("%s: copies %s under %s, but earlier COPYs of stage %q use %s", in.Where(df), src, r, s.Name, mirror)
				}
				mirror = r
			}
		}
	}
	if mirror == "" {
		return "", fmt.Errorf("%s: stage %q copies nothing from the build context", df.Path, s.Name)
	}
	return mirror, nil
}

// copyPath copies file or directory src to dest as COPY does: a directory's
// contents into dest, a file to dest (or into it when destDir). With ign,
// excluded context paths are left out.
func copyPath(root string, ign *DockerIgnore, src, dest string, destDir bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		if destDir {
			dest = filepath.Join(dest, filepath.Base(src))
		}
		return copyFile(src, dest, fi.Mode())
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ign != nil {
			r, _ := filepath.Rel(root, p)
			if ign.Excluded(filepath.ToSlash(r)) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		r, _ := filepath.Rel(src, p)
		target := filepath.Join(dest, r)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(p, target, info.Mode())
	})
}

func copyFile(src, dest string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// StaticELF reports why the executable at file is not a static binary
// (it names an ELF interpreter or shared libraries), or nil.
func StaticELF(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked: it has an ELF interpreter (PT_INTERP)")
		}
	}
	libs, err := f.ImportedLibraries()
	if err == nil && len(libs) > 0 {
		return fmt.Errorf("dynamically linked against %s", strings.Join(libs, ", "))
	}
	return nil
}
