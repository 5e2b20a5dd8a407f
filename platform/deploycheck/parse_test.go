package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Tests of the parsers on small inputs; the checks of the repository's
// files are in compose_test.go and dockerfile_test.go.

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDockerfile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "m/go.mod", "module m\n")
	writeFile(t, dir, "Dockerfile", `# syntax=docker/dockerfile:1
ARG GO=1.26
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY m/go.mod m/
ENV A=1 B="two words"
ENV LEGACY some value
RUN --mount=type=cache,target=/root/.cache/go-build \
    # a comment between continuation lines
    go mod download && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app ./m/cmd/app

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
EXPOSE 8080/tcp
ENTRYPOINT ["/app"]
`)
	df, err := ParseDockerfile(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Stages) != 2 || df.Stages[0].Name != "build" || df.Final().Base != "gcr.io/distroless/static-debian12:nonroot" {
		t.Fatalf("stages: %+v", df.Stages)
	}
	env := df.Stages[0].Env()
	if env["A"] != "1" || env["B"] != "two words" || env["LEGACY"] != "some value" {
		t.Errorf("env: %q", env)
	}
	builds := df.Stages[0].GoBuilds()
	if len(builds) != 1 {
		t.Fatalf("go builds: %+v", builds)
	}
	b := builds[0]
	if b.Env["CGO_ENABLED"] != "0" || !b.Trimpath || b.Ldflags != "-s -w" || b.Output != "/out/app" || !slices.Equal(b.Packages, []string{"./m/cmd/app"}) {
		t.Errorf("go build: %+v", b)
	}
	if b.Instruction.Line != 8 {
		t.Errorf("RUN line %d, want 8", b.Instruction.Line)
	}
	if v, ok := b.Instruction.Flag("mount"); !ok || v != "type=cache,target=/root/.cache/go-build" {
		t.Errorf("mount flag %q %v", v, ok)
	}
	final := df.Final()
	if final.User() != "nonroot:nonroot" || !slices.Equal(final.Exposed(), []string{"8080"}) {
		t.Errorf("final: user %q exposed %v", final.User(), final.Exposed())
	}
	if w := final.All("ENTRYPOINT")[0].Words(); !slices.Equal(w, []string{"/app"}) {
		t.Errorf("entrypoint %q", w)
	}
	if m, err := MirrorRoot(dir, df, df.Stages[0]); err != nil || m != "/src" {
		t.Errorf("mirror root %q, %v; want /src", m, err)
	}
}

func TestShellCommands(t *testing.T) {
	got := shellCommands(`a 'b c' && d "e \"f\"" ; g|h || i & j`)
	want := [][]string{{"a", "b c"}, {"d", `e "f"`}, {"g"}, {"h"}, {"i", "&", "j"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("command %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestDockerIgnoreMatch(t *testing.T) {
	d, err := NewDockerIgnore([]string{"# comment", ".git", "**/node_modules", "*.test", "dist", "!dist/keep", "/bin/"})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		".git/HEAD":                    true,
		"a/b/node_modules/x/y.js":      true,
		"node_modules":                 true,
		"x.test":                       true,
		"m/x.test":                     false, // * does not cross /
		"dist/index.html":              true,
		"dist/keep":                    false,
		"bin/app":                      true,
		"m/go.mod":                     false,
		"team-tracking-view/dist/a.js": false,
	} {
		if got := d.Excluded(p); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestComposeForms(t *testing.T) {
	var c Compose
	err := yaml.Unmarshal([]byte(`
services:
  a:
    build: .
    environment:
      - X=1
      - FROM_SHELL
    depends_on: [b]
    ports: ["8080:80", "9000", {target: 81, published: 8081}]
  b:
    build: {context: ., dockerfile: b/Dockerfile}
    environment:
      Y: 2
      Z:
    depends_on:
      a: {condition: service_healthy}
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Services["a"], c.Services["b"]
	if a.Build.Context != "." || b.Build.Dockerfile != "b/Dockerfile" {
		t.Errorf("build: %+v %+v", a.Build, b.Build)
	}
	if v, ok := a.Environment.Get("X"); !ok || v != "1" {
		t.Errorf("X=%q %v", v, ok)
	}
	if _, ok := a.Environment.Get("FROM_SHELL"); ok {
		t.Error("FROM_SHELL has no value here")
	}
	if v, ok := b.Environment.Get("Y"); !ok || v != "2" {
		t.Errorf("Y=%q %v", v, ok)
	}
	if _, ok := b.Environment.Get("Z"); ok {
		t.Error("Z: null is unset")
	}
	if a.DependsOn["b"] != "service_started" || b.DependsOn["a"] != "service_healthy" {
		t.Errorf("depends_on %v %v", a.DependsOn, b.DependsOn)
	}
	got := [][2]string{}
	for _, p := range a.Ports {
		got = append(got, [2]string{p.Published, p.Target})
	}
	want := [][2]string{{"8080", "80"}, {"", "9000"}, {"8081", "81"}}
	if !slices.Equal(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}
}

func TestParseConfigTables(t *testing.T) {
	f := writeFile(t, t.TempDir(), "README.md", "# X\n\n## Configuration\n\n"+
		"| variable | service | default | meaning |\n|---|---|---|---|\n"+
		"| `HTTP_ADDR` | all | `:8080` | listen |\n"+
		"| `A_DELAY`, `B_DELAY` | tracking services | `5` | x |\n\n"+
		"### team-simulator\n\n| variable | default |\n|---|---|\n| `HOST` | `localhost` |\n\n"+
		"| folder | what |\n|---|---|\n| `NOT_A_VAR` | x |\n")
	rows, err := ParseConfigTables(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Name] = r.Scope + "|" + r.Default
	}
	want := map[string]string{
		"HTTP_ADDR": "all|`:8080`",
		"A_DELAY":   "tracking services|`5`",
		"B_DELAY":   "tracking services|`5`",
		"HOST":      "team-simulator|`localhost`",
	}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func TestHelpers(t *testing.T) {
	for _, c := range []struct {
		have, want string
		ok         bool
	}{{"1.26.8", "1.26.8", true}, {"1.26.8", "1.26.9", false}, {"1.26", "1.26.9", true}, {"1.26.8", "1.26", true}, {"1.25.9", "1.26", false}} {
		if got := goVersionAtLeast(c.have, c.want); got != c.ok {
			t.Errorf("goVersionAtLeast(%s, %s) = %v", c.have, c.want, got)
		}
	}
	refs := addressRefs("KAFKA_BROKERS", "kafka:9092, kafka2:9093")
	if len(refs) != 2 || refs[1] != (addressRef{"kafka2", 9093}) {
		t.Errorf("refs %v", refs)
	}
	if refs := addressRefs("HTTP_ADDR", ":8081"); len(refs) != 0 {
		t.Errorf("refs %v", refs)
	}
	if refs := addressRefs("HOST", "api-gateway"); len(refs) != 1 || refs[0].host != "api-gateway" {
		t.Errorf("refs %v", refs)
	}
	for scope, want := range map[string]bool{"all": true, "tracking services": true, "tracking-kafka": false, "gateway": false} {
		if got := inScope(scope, "tracking-redis"); got != want {
			t.Errorf("inScope(%q, tracking-redis) = %v", scope, got)
		}
	}
	if !inScope("team-simulator", "team-simulator") || inScope("all", "team-simulator") {
		t.Error("simulator scopes")
	}
}
