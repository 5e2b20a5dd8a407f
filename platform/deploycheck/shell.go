package deploycheck

import (
	"strings"
)

// shellWords splits s into words as a POSIX shell would for simple cases:
// whitespace separates, quotes group and are removed, a backslash escapes
// the next character. Operators are not special here (see shellCommands).
func shellWords(s string) []string {
	cmds := splitShell(s, false)
	if len(cmds) == 0 {
		return nil
	}
	return cmds[0]
}

// shellCommands splits a RUN line into its simple commands (separated by
// &&, ||, ;, | or newlines), each as its words.
func shellCommands(s string) [][]string { return splitShell(s, true) }

func splitShell(s string, operators bool) [][]string {
	var (
		cmds  [][]string
		words []string
		word  strings.Builder
		inW   bool // a word is being built (possibly empty, as in "")
	)
	endWord := func() {
		if inW {
			words = append(words, word.String())
		}
		word.Reset()
		inW = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
			inW = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inW = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.ContainsRune(`"\$`+"`", rune(s[i+1])) {
					i++
				}
				word.WriteByte(s[i])
			}
			inW = true
		case c == ' ' || c == '\t':
			endWord()
		case operators && (c == ';' || c == '|' || c == '&' || c == '\n'):
			if c == '&' && !(i+1 < len(s) && s[i+1] == '&') {
				word.WriteByte(c) // a lone & (background) is kept as text
				inW = true
				continue
			}
			if (c == '&' || c == '|') && i+1 < len(s) && s[i+1] == c {
				i++
			}
			endCmd()
		default:
			word.WriteByte(c)
			inW = true
		}
	}
	endCmd()
	return cmds
}

// GoBuild is one `go build` command of a RUN instruction.
type GoBuild struct {
	Instruction Instruction
	Env         map[string]string // VAR=value prefixes of the command
	Output      string            // -o, or ""
	Trimpath    bool
	Ldflags     string
	Tags        string
	Packages    []string
	Words       []string // the command as parsed, without its env prefixes
}

// goBuildValueFlags are the flags of `go build` that take a value.
var goBuildValueFlags = map[string]bool{
	"o": true, "ldflags": true, "gcflags": true, "asmflags": true, "tags": true,
	"mod": true, "modfile": true, "p": true, "pkgdir": true, "buildmode": true,
	"compiler": true, "gccgoflags": true, "installsuffix": true, "overlay": true,
	"pgo": true, "C": true, "covermode": true, "coverpkg": true, "toolexec": true,
	"exec": true,
}

// parseGoBuild recognises [VAR=value ...] go build [flags] [packages].
func parseGoBuild(words []string) (GoBuild, bool) {
	b := GoBuild{Env: map[string]string{}}
	i := 0
	for ; i < len(words); i++ {
		k, v, ok := strings.Cut(words[i], "=")
		if !ok || !isEnvName(k) {
			break
		}
		b.Env[k] = v
	}
	if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
		return GoBuild{}, false
	}
	b.Words = words[i:]
	args := words[i+2:]
	for j := 0; j < len(args); j++ {
		a := args[j]
		if !strings.HasPrefix(a, "-") {
			b.Packages = append(b.Packages, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if goBuildValueFlags[name] && !hasVal && j+1 < len(args) {
			j++
			val = args[j]
		}
		switch name {
		case "o":
			b.Output = val
		case "trimpath":
			b.Trimpath = !hasVal || val == "true"
		case "ldflags":
			b.Ldflags = val
		case "tags":
			b.Tags = val
		}
	}
	if len(b.Packages) == 0 {
		b.Packages = []string{"."}
	}
	return b, true
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
