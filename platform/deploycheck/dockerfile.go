package deploycheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Dockerfile is a parsed Dockerfile: its build stages in order, the last
// being the image.
type Dockerfile struct {
	Path   string // as given to ParseDockerfile
	Stages []*Stage
}

// Stage is one FROM and the instructions up to the next FROM.
type Stage struct {
	Index        int
	Name         string // the AS name, or ""
	Base         string // the image, or the name of an earlier stage
	Line         int
	Instructions []Instruction
}

// Instruction is one logical line: continuation lines joined, comments and
// blank lines dropped.
type Instruction struct {
	Line  int      // first physical line, 1-based
	Cmd   string   // upper case: FROM, COPY, RUN, ...
	Flags []string // leading --flags (e.g. "--from=build"), in order
	Rest  string   // the text after the command and its flags
}

// Flag returns the value of --name=value, and whether it was given.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// Words returns the arguments: the elements of a JSON array (exec form), else
// the shell-like words of Rest.
func (in Instruction) Words() []string {
	if w, ok := jsonArray(in.Rest); ok {
		return w
	}
	return shellWords(in.Rest)
}

func jsonArray(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, false
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, false
	}
	return out, true
}

// Where names the instruction for a failure message: "tracking-redis/Dockerfile:31 RUN".
func (in Instruction) Where(df *Dockerfile) string {
	return fmt.Sprintf("%s:%d %s", df.Path, in.Line, in.Cmd)
}

// ParseDockerfile reads the Dockerfile at path (relative paths are resolved
// against root) and records it under the name path.
func ParseDockerfile(root, path string) (*Dockerfile, error) {
	f, err := os.Open(joinRoot(root, path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	df := &Dockerfile{Path: path}
	var (
		cur   *Stage
		buf   strings.Builder
		start int
		n     int
	)
	flush := func() error {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return nil
		}
		in := parseInstruction(start, text)
		if in.Cmd == "FROM" {
			w := shellWords(in.Rest)
			if len(w) == 0 {
				return fmt.Errorf("%s:%d: FROM without an image", path, start)
			}
			cur = &Stage{Index: len(df.Stages), Base: w[0], Line: start}
			if len(w) >= 3 && strings.EqualFold(w[1], "AS") {
				cur.Name = w[2]
			}
			df.Stages = append(df.Stages, cur)
		} else if cur == nil {
			if in.Cmd != "ARG" {
				return fmt.Errorf("%s:%d: %s before the first FROM", path, start, in.Cmd)
			}
			return nil
		}
		cur.Instructions = append(cur.Instructions, in)
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		// Comments (parser directives included) and blank lines, also
		// between continuation lines, as Docker does.
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if buf.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, `\`) {
			buf.WriteString(strings.TrimSuffix(trimmed, `\`))
			buf.WriteByte(' ')
			continue
		}
		buf.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

func parseInstruction(line int, text string) Instruction {
	cmd, rest, _ := strings.Cut(text, " ")
	in := Instruction{Line: line, Cmd: strings.ToUpper(cmd)}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		f, r, _ := strings.Cut(rest, " ")
		in.Flags = append(in.Flags, f)
		rest = strings.TrimSpace(r)
	}
	in.Rest = rest
	return in
}

// Final returns the last stage: the image.
func (df *Dockerfile) Final() *Stage { return df.Stages[len(df.Stages)-1] }

// Stage returns the stage named name (or of index name), or nil.
func (df *Dockerfile) Stage(name string) *Stage {
	for _, s := range df.Stages {
		if s.Name == name || fmt.Sprint(s.Index) == name {
			return s
		}
	}
	return nil
}

// Env returns the ENV settings of the stage (not of its base image), in
// effect at its end.
func (s *Stage) Env() map[string]string {
	env := map[string]string{}
	for _, in := range s.Instructions {
		if in.Cmd == "ENV" {
			for k, v := range parseEnvInstruction(in.Rest) {
				env[k] = v
			}
		}
	}
	return env
}

// parseEnvInstruction reads "ENV K=V K2="v 2"" and the legacy "ENV K V".
func parseEnvInstruction(rest string) map[string]string {
	out := map[string]string{}
	words := shellWords(rest)
	if len(words) >= 1 && !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(rest, " ")
		out[k] = strings.TrimSpace(v)
		return out
	}
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			out[k] = v
		}
	}
	return out
}

// User returns the last USER of the stage, or "".
func (s *Stage) User() string {
	u := ""
	for _, in := range s.Instructions {
		if in.Cmd == "USER" {
			u = strings.TrimSpace(in.Rest)
		}
	}
	return u
}

// Exposed returns the EXPOSEd ports ("8080", "8080/tcp" as "8080").
func (s *Stage) Exposed() []string {
	var ports []string
	for _, in := range s.Instructions {
		if in.Cmd == "EXPOSE" {
			for _, p := range in.Words() {
				p, _, _ = strings.Cut(p, "/")
				ports = append(ports, p)
			}
		}
	}
	return ports
}

// All returns the stage's instructions named cmd.
func (s *Stage) All(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// GoBuilds returns every `go build` in the stage's RUN instructions.
func (s *Stage) GoBuilds() []GoBuild {
	var out []GoBuild
	for _, in := range s.All("RUN") {
		for _, c := range shellCommands(in.Rest) {
			if b, ok := parseGoBuild(c); ok {
				b.Instruction = in
				out = append(out, b)
			}
		}
	}
	return out
}
