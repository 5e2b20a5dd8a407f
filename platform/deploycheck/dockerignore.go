package deploycheck

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
)

// DockerIgnore is a parsed .dockerignore: which paths of the build context
// (slash-separated, relative to it) a build never sees.
type DockerIgnore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pattern string
	re      *regexp.Regexp
	negate  bool
}

// ParseDockerIgnore reads root/.dockerignore; a missing file ignores nothing.
func ParseDockerIgnore(root string) (*DockerIgnore, error) {
	f, err := os.Open(joinRoot(root, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return &DockerIgnore{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return NewDockerIgnore(lines)
}

// NewDockerIgnore compiles .dockerignore lines, with Docker's rules: "#"
// comments, "!" exceptions, "*" and "?" within one path element, "**" across
// any number of them, the last matching line deciding, and a match on a
// directory covering everything below it.
func NewDockerIgnore(lines []string) (*DockerIgnore, error) {
	d := &DockerIgnore{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(l, "!") {
			r.negate = true
			l = strings.TrimSpace(l[1:])
		}
		l = strings.TrimPrefix(path.Clean("/"+l), "/")
		r.pattern = l
		re, err := regexp.Compile("^" + globRegexp(l) + "$")
		if err != nil {
			return nil, err
		}
		r.re = re
		d.rules = append(d.rules, r)
	}
	return d, nil
}

func globRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i++
				if i+1 < len(p) && p[i+1] == '/' {
					i++
					b.WriteString("(.*/)?") // "**/" : zero or more directories
				} else {
					b.WriteString(".*")
				}
				continue
			}
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// Excluded reports whether the context path p (slash-separated, relative)
// is left out of the build context.
func (d *DockerIgnore) Excluded(p string) bool {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return false
	}
	// p and each of its parents, as Docker matches them.
	var cands []string
	for q := p; q != "." && q != ""; q = path.Dir(q) {
		cands = append(cands, q)
		if !strings.Contains(q, "/") {
			break
		}
	}
	excluded := false
	for _, r := range d.rules {
		for _, c := range cands {
			if r.re.MatchString(c) {
				excluded = !r.negate
				break
			}
		}
	}
	return excluded
}

// Patterns returns the rules as written (exceptions with their "!").
func (d *DockerIgnore) Patterns() []string {
	var out []string
	for _, r := range d.rules {
		if r.negate {
			out = append(out, "!"+r.pattern)
		} else {
			out = append(out, r.pattern)
		}
	}
	return out
}
