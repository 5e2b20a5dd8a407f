package deploycheck

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDockerfiles: each Go service's Dockerfile builds its binary in a
// golang stage, statically, with dependency downloads cached in their own
// layer and only the modules it needs, and ships it alone in a small final
// stage that runs as non-root and exposes the service's port.
func TestDockerfiles(t *testing.T) {
	r := loadRepo(t)
	for _, g := range goServices {
		t.Run(g.Name, func(t *testing.T) {
			b := needBinary(t, r, g)
			checkFinalStage(t, b)
			checkBuildStage(t, r, b)
			checkModuleFiles(t, r, b)
			checkSources(t, r, b)
			checkEmbeds(t, r, b)
		})
	}
}

func checkFinalStage(t *testing.T, b *binary) {
	t.Helper()
	df := b.Dockerfile
	final := df.Final()
	where := fmt.Sprintf("%s:%d final stage", df.Path, final.Line)
	if final == b.Build {
		t.Errorf("%s: is the build stage; ship the binary in a small final stage (%s)", where, strings.Join(finalBases, " or "))
	}
	if !slices.ContainsFunc(finalBases, func(p string) bool { return strings.HasPrefix(final.Base, p) }) {
		t.Errorf("%s: FROM %s, want a small static base: %s", where, final.Base, strings.Join(finalBases, " or "))
	}
	user := final.User()
	switch {
	case user == "" && !strings.Contains(final.Base, "nonroot"):
		t.Errorf("%s: runs as root: no USER, and %s is not a :nonroot image", where, final.Base)
	case user == "root" || user == "0" || strings.HasPrefix(user, "root:") || strings.HasPrefix(user, "0:"):
		t.Errorf("%s: USER %s is root", where, user)
	}
	// It copies the built binary and runs it.
	out := path.Join(workdirAt(b.Build, b.GoBuild.Instruction.Line), b.GoBuild.Output)
	if b.GoBuild.Output == "" {
		t.Errorf("%s: go build without -o: name the binary's path", b.GoBuild.Instruction.Where(df))
		return
	}
	if path.IsAbs(b.GoBuild.Output) {
		out = path.Clean(b.GoBuild.Output)
	}
	installed := ""
	for _, in := range final.All("COPY") {
		from, ok := in.Flag("from")
		if !ok || (from != b.Build.Name && from != strconv.Itoa(b.Build.Index)) {
			continue
		}
		w := in.Words()
		if len(w) == 2 && path.Clean(w[0]) == out {
			installed = w[1]
			if strings.HasSuffix(installed, "/") {
				installed = path.Join(installed, path.Base(out))
			}
		}
	}
	if installed == "" {
		t.Errorf("%s: no COPY --from=%s %s (the binary that go build makes)", where, b.Build.Name, out)
		return
	}
	entry := final.All("ENTRYPOINT")
	if len(entry) == 0 {
		entry = final.All("CMD")
	}
	if len(entry) == 0 || len(entry[len(entry)-1].Words()) == 0 {
		t.Errorf("%s: no ENTRYPOINT", where)
	} else if in := entry[len(entry)-1]; in.Words()[0] != installed {
		t.Errorf("%s: runs %s, want the binary %s (exec form: there is no shell)", in.Where(df), in.Words()[0], installed)
	}
	exposed := final.Exposed()
	switch {
	case b.Spec.Port == 0 && len(exposed) > 0:
		t.Errorf("%s: EXPOSE %v, but %s listens on no port", where, exposed, b.Spec.Name)
	case b.Spec.Port != 0 && !slices.Equal(exposed, []string{strconv.Itoa(b.Spec.Port)}):
		t.Errorf("%s: EXPOSE %v, want %d (SPEC.md Configuration: HTTP_ADDR of %s)", where, exposed, b.Spec.Port, b.Spec.Name)
	}
}

func checkBuildStage(t *testing.T, r *repoFacts, b *binary) {
	t.Helper()
	df, s, gb := b.Dockerfile, b.Build, b.GoBuild
	where := gb.Instruction.Where(df)
	if img, tag, _ := strings.Cut(s.Base, ":"); img != "golang" && img != "docker.io/library/golang" {
		t.Errorf("%s:%d: build stage FROM %s, want the official golang image", df.Path, s.Line, s.Base)
	} else {
		// The golang images set GOTOOLCHAIN=local: their Go must be at least
		// every go directive of the workspace.
		ver, _, _ := strings.Cut(tag, "-")
		vers, err := r.Workspace.GoVersions()
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range sortedKeys(vers) {
			if !goVersionAtLeast(ver, vers[file]) {
				t.Errorf("%s:%d: FROM %s has Go %s, older than %s's go %s (GOTOOLCHAIN=local in that image: the build fails)", df.Path, s.Line, s.Base, ver, file, vers[file])
			}
		}
	}
	cgo, ok := gb.Env["CGO_ENABLED"]
	if !ok {
		cgo = s.Env()["CGO_ENABLED"]
	}
	if cgo != "0" {
		t.Errorf("%s: CGO_ENABLED=%q, want 0 (ENV or on the command): a static binary for a base without libc", where, cgo)
	}
	if !gb.Trimpath {
		t.Errorf("%s: go build without -trimpath", where)
	}
	flags := strings.Fields(gb.Ldflags)
	if !slices.Contains(flags, "-s") || !slices.Contains(flags, "-w") {
		t.Errorf("%s: -ldflags=%q, want -s -w (no symbol table, no DWARF: a smaller image)", where, gb.Ldflags)
	}
}

// goVersionAtLeast compares Go versions ("1.26.8" >= "1.26.7"); a version
// without a patch ("1.26", an image tag that follows the latest patch) is at
// least any patch of its minor.
func goVersionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := 0; i < len(w); i++ {
		if i >= len(h) {
			return true
		}
		hn, err1 := strconv.Atoi(h[i])
		wn, err2 := strconv.Atoi(w[i])
		if err1 != nil || err2 != nil {
			return h[i] >= w[i]
		}
		if hn != wn {
			return hn > wn
		}
	}
	return true
}

// contextCopies returns, for the COPYs from the build context in s before
// line (0: all), each source as a clean repository path.
func contextCopies(s *Stage, before int) []string {
	var out []string
	for _, in := range s.Instructions {
		if before > 0 && in.Line >= before {
			break
		}
		if in.Cmd != "COPY" && in.Cmd != "ADD" {
			continue
		}
		if _, ok := in.Flag("from"); ok {
			continue
		}
		w := in.Words()
		for _, src := range w[:max(len(w)-1, 0)] {
			out = append(out, strings.TrimPrefix(path.Clean("/"+src), "/"))
		}
	}
	return out
}

// covers reports whether a copied source (a file, a directory, a glob, "."
// for the whole context) includes repository path p.
func covers(src, p string) bool {
	if src == "" || src == "." || src == p || strings.HasPrefix(p, src+"/") {
		return true
	}
	ok, _ := path.Match(src, p)
	return ok
}

func coveredBy(srcs []string, p string) bool {
	return slices.ContainsFunc(srcs, func(s string) bool { return covers(s, p) })
}

// checkModuleFiles: the workspace's module files are copied and the modules
// downloaded before any source is copied, so that the download layer is
// rebuilt only when they change. Go refuses a go.work whose modules lack a
// go.mod, so every module's go.mod is needed, even of modules not built.
func checkModuleFiles(t *testing.T, r *repoFacts, b *binary) {
	t.Helper()
	df, s := b.Dockerfile, b.Build
	download := 0
	for _, in := range s.All("RUN") {
		for _, c := range shellCommands(in.Rest) {
			if len(c) >= 3 && slices.Equal(c[:3], []string{"go", "mod", "download"}) {
				download = in.Line
				break
			}
		}
		if download != 0 {
			break
		}
	}
	if download == 0 {
		t.Errorf("%s:%d: build stage has no RUN go mod download (the cached dependency layer)", df.Path, s.Line)
		download = b.GoBuild.Instruction.Line
	}
	before := contextCopies(s, download)
	need := []string{"go.work"}
	if _, err := os.Stat(joinRoot(r.Root, "go.work.sum")); err == nil {
		need = append(need, "go.work.sum")
	}
	for _, m := range r.Workspace.Use {
		need = append(need, m+"/go.mod")
		if _, err := os.Stat(joinRoot(r.Root, m+"/go.sum")); err == nil {
			need = append(need, m+"/go.sum")
		}
	}
	for _, f := range need {
		if !coveredBy(before, f) {
			t.Errorf("%s:%d: %s is not copied before go mod download (go.work uses every module listed in it)", df.Path, download, f)
		}
	}
	for _, src := range before {
		if base := path.Base(src); base != "go.mod" && base != "go.sum" && base != "go.work" && base != "go.work.sum" {
			t.Errorf("%s:%d: COPY %s before go mod download: a source change would re-download every module", df.Path, download, src)
		}
	}
}

// checkSources: the build stage copies every workspace module the binary
// imports (and the build then needs nothing else: see TestDockerfileBuilds).
func checkSources(t *testing.T, r *repoFacts, b *binary) {
	t.Helper()
	copied := contextCopies(b.Build, b.GoBuild.Instruction.Line)
	seen := map[string]bool{}
	for _, p := range b.Pkgs {
		if !p.InWorkspace() || seen[p.Module.Dir] {
			continue
		}
		seen[p.Module.Dir] = true
		rel := relSlash(r.Root, p.Module.Dir)
		if !coveredBy(copied, rel+"/x.go") {
			t.Errorf("%s: %s imports module %s (%s/), which the build stage does not COPY before go build", b.GoBuild.Instruction.Where(b.Dockerfile), b.Target, p.Module.Path, rel)
		}
	}
}

// checkEmbeds: what the binary embeds from a build's output (the view) is
// built by a stage of the Dockerfile and copied in before go build; and the
// binaries that must serve such an asset embed it.
func checkEmbeds(t *testing.T, r *repoFacts, b *binary) {
	t.Helper()
	df := b.Dockerfile
	dirs := map[string]string{} // asset directory -> the package embedding it
	for _, a := range builtAssets {
		if !slices.Contains(a.Servers, b.Spec.Name) {
			continue
		}
		dirs[a.Dir] = a.Package
		if !slices.ContainsFunc(b.Pkgs, func(p *Package) bool { return p.ImportPath == a.Package }) {
			t.Errorf("%s (%s) does not import %s, so its image serves no %s (SPEC.md Gateway: / serves the view)", b.Target, b.Spec.Name, a.Package, a.Dir)
		}
	}
	for _, p := range b.Pkgs {
		if !p.InWorkspace() {
			continue
		}
		for _, pat := range p.EmbedPatterns {
			pat = strings.TrimPrefix(pat, "all:")
			if i := strings.IndexAny(pat, "*?["); i >= 0 {
				pat = path.Dir(pat[:i])
			}
			dir := path.Join(relSlash(r.Root, p.Dir), pat)
			built := slices.ContainsFunc(builtAssets, func(a builtAsset) bool { return a.Dir == dir })
			if built || r.Ignore.Excluded(dir) {
				dirs[dir] = p.ImportPath
			}
		}
	}
	for _, dir := range sortedKeys(dirs) {
		if !r.Ignore.Excluded(dir) {
			t.Errorf(".dockerignore: does not leave out %s, a build's output that %s embeds: a developer's local build would reach the image", dir, dirs[dir])
		}
		producer := stageCopyingInto(t, r, b, dir)
		if producer == nil {
			t.Errorf("%s: %s embeds %s, a build's output, but the build stage copies it from no stage that builds it (COPY --from=<stage> before go build)", df.Path, dirs[dir], dir)
			continue
		}
		checkProducer(t, df, producer, dir)
	}
}

// stageCopyingInto returns the stage from which the build stage copies
// repository path dir (COPY --from=stage ... dir/), or nil.
func stageCopyingInto(t *testing.T, r *repoFacts, b *binary, dir string) *Stage {
	t.Helper()
	df, s := b.Dockerfile, b.Build
	mirror, err := MirrorRoot(r.Root, df, s)
	if err != nil {
		t.Error(err)
		return nil
	}
	for _, in := range s.Instructions {
		if in.Line >= b.GoBuild.Instruction.Line {
			break
		}
		from, ok := in.Flag("from")
		if in.Cmd != "COPY" || !ok {
			continue
		}
		w := in.Words()
		if len(w) != 2 {
			continue
		}
		dest := w[1]
		if !path.IsAbs(dest) {
			dest = path.Join(workdirAt(s, in.Line), dest)
		}
		rel, ok := strings.CutPrefix(path.Clean(dest), mirror)
		if !ok || strings.TrimPrefix(rel, "/") != dir {
			continue
		}
		st := df.Stage(from)
		if st == nil {
			t.Errorf("%s: --from=%s is not a stage of this Dockerfile", in.Where(df), from)
			return nil
		}
		// The producer makes dir at the same repository path.
		pm, err := MirrorRoot(r.Root, df, st)
		if err != nil {
			t.Error(err)
			return st
		}
		if srel, ok := strings.CutPrefix(path.Clean(w[0]), pm); !ok || strings.TrimPrefix(srel, "/") != dir {
			t.Errorf("%s: copies %s of stage %s, which is not %s there (that stage holds the repository under %s)", in.Where(df), w[0], from, dir, pm)
		}
		return st
	}
	return nil
}

// checkProducer: a node stage installs exactly the locked dependencies and
// runs the package's build.
func checkProducer(t *testing.T, df *Dockerfile, st *Stage, dir string) {
	t.Helper()
	if !strings.HasPrefix(st.Base, "node:") {
		if len(st.All("RUN")) == 0 {
			t.Errorf("%s:%d: stage %s, which %s comes from, runs nothing", df.Path, st.Line, st.Name, dir)
		}
		return
	}
	ci, build := 0, 0
	for _, in := range st.All("RUN") {
		for _, c := range shellCommands(in.Rest) {
			if len(c) >= 2 && c[0] == "npm" && c[1] == "ci" && ci == 0 {
				ci = in.Line
			}
			if len(c) >= 3 && c[0] == "npm" && c[1] == "run" && slices.Contains(c[2:], "build") {
				build = in.Line
			}
		}
	}
	if ci == 0 {
		t.Errorf("%s:%d: node stage %s does not run npm ci (the locked dependencies)", df.Path, st.Line, st.Name)
	}
	if build == 0 || build < ci {
		t.Errorf("%s:%d: node stage %s does not run npm run build after npm ci", df.Path, st.Line, st.Name)
	}
}

func relSlash(root, dir string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(dir, root), string(os.PathSeparator))
	return strings.ReplaceAll(rel, string(os.PathSeparator), "/")
}

// TestDockerfileBuilds replays each Go service's build stage on this
// machine with only what it copies from the context (see EmulateStage) and
// checks that it makes a static binary. No Docker engine needed.
func TestDockerfileBuilds(t *testing.T) {
	r := loadRepo(t)
	if testing.Short() {
		t.Skip("-short: the builds take a while the first time (the other checks ran)")
	}
	for _, g := range goServices {
		t.Run(g.Name, func(t *testing.T) {
			b := needBinary(t, r, g)
			em, err := EmulateStage(t.Context(), r.Root, r.Ignore, b.Dockerfile, b.Build, t.TempDir())
			if err != nil {
				t.Fatalf("%s does not build %s with what it copies: %v", b.Dockerfile.Path, g.Name, err)
			}
			for _, c := range em.Skipped {
				t.Logf("%s: RUN %s: not a go command, not replayed", b.Dockerfile.Path, c)
			}
			out := b.GoBuild.Output
			if !path.IsAbs(out) {
				out = path.Join(workdirAt(b.Build, b.GoBuild.Instruction.Line), out)
			}
			file, ok := em.Outputs[path.Clean(out)]
			if !ok {
				t.Fatalf("%s: made no %s", b.Dockerfile.Path, out)
			}
			if err := StaticELF(file); err != nil {
				t.Errorf("%s: %s is not static: %v", b.GoBuild.Instruction.Where(b.Dockerfile), out, err)
			}
		})
	}
}

// TestDockerIgnore: the context leaves out what must never reach an image
// or would make it huge.
func TestDockerIgnore(t *testing.T) {
	r := loadRepo(t)
	if len(r.Ignore.Patterns()) == 0 {
		t.Fatal(".dockerignore: missing or empty (the context is the whole repository)")
	}
	for _, p := range []string{".git/HEAD", "team-tracking-view/web/node_modules/leaflet/package.json"} {
		if !r.Ignore.Excluded(p) {
			t.Errorf(".dockerignore: does not leave out %s", p)
		}
	}
}
