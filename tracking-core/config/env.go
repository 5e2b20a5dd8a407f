package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Var is a variable a binary reads and its default, as the README writes it
// ("" when unset means off, empty or computed).
type Var struct {
	Name    string
	Default string
}

// Env reads settings from the environment. Each lookup returns the default
// when the variable is unset or blank, and records the variable (Vars); a
// value that does not parse gives the default and an error (Err).
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
	vars   []Var
	seen   map[string]bool
}

// New returns an Env over lookup; nil means os.LookupEnv.
func New(lookup func(string) (string, bool)) *Env {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Env{lookup: lookup, seen: map[string]bool{}}
}

// Map returns an Env over m, for tests.
func Map(m map[string]string) *Env {
	return New(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

// Getenv returns an Env over a getenv-like function, for tests of commands
// that take one.
func Getenv(get func(string) string) *Env {
	return New(func(k string) (string, bool) { v := get(k); return v, v != "" })
}

// Err returns every problem found so far, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Vars returns the variables read so far, in order, each once.
func (e *Env) Vars() []Var { return append([]Var(nil), e.vars...) }

// Fail records that name holds a value that is not what want describes; the
// error quotes the value, so it is never for a secret (use Failf).
func (e *Env) Fail(name, want string) {
	v, _ := e.lookup(name)
	e.errs = append(e.errs, fmt.Errorf("%s=%q: want %s", name, strings.TrimSpace(v), want))
}

// Failf records a problem with name that is not about its own value.
func (e *Env) Failf(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// get records name with def and returns its trimmed value, if set and not blank.
func (e *Env) get(name, def string) (string, bool) {
	if !e.seen[name] {
		e.seen[name] = true
		e.vars = append(e.vars, Var{Name: name, Default: def})
	}
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// String returns the variable, or def.
func (e *Env) String(name, def string) string {
	if v, ok := e.get(name, def); ok {
		return v
	}
	return def
}

// Secret returns the variable byte for byte (spaces are part of a secret),
// or "". It is never a default.
func (e *Env) Secret(name string) string {
	if _, ok := e.get(name, ""); !ok {
		return ""
	}
	v, _ := e.lookup(name)
	return v
}

// List returns the comma-separated variable without blank items, or def.
func (e *Env) List(name string, def ...string) []string {
	v, ok := e.get(name, strings.Join(def, ","))
	if !ok {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Int returns the variable, a whole number, or def.
func (e *Env) Int(name string, def int) int {
	return Func(e, name, def, strconv.Itoa(def), "a whole number", strconv.Atoi)
}

// Float returns the variable, a number, or def.
func (e *Env) Float(name string, def float64) float64 {
	return Func(e, name, def, strconv.FormatFloat(def, 'f', -1, 64), "a number",
		func(v string) (float64, error) { return strconv.ParseFloat(v, 64) })
}

// Duration returns the variable, a Go duration (500ms, 15s) or a whole
// number of milliseconds, or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	return Func(e, name, def, FormatDuration(def), "a duration such as 500ms or 15s, or milliseconds", ParseDuration)
}

// Millis is Duration for a delay documented in milliseconds (def is recorded
// as a number of them); the delay must be positive.
func (e *Env) Millis(name string, def time.Duration) time.Duration {
	return Func(e, name, def, strconv.FormatInt(def.Milliseconds(), 10), "milliseconds (550) or a duration (550ms) > 0",
		func(v string) (time.Duration, error) {
			d, err := ParseDuration(v)
			if err == nil && d <= 0 {
				err = errors.New("not positive")
			}
			return d, err
		})
}

// Level returns the variable, a slog level (debug, info, warn, error), or def.
func (e *Env) Level(name string, def slog.Level) slog.Level {
	return Func(e, name, def, strings.ToLower(def.String()), "debug, info, warn or error",
		func(v string) (slog.Level, error) {
			var l slog.Level
			err := l.UnmarshalText([]byte(v))
			return l, err
		})
}

// Func returns parse's result on the variable, or def when it is unset;
// defText is def as the README writes it. A parse error is recorded with want.
func Func[T any](e *Env, name string, def T, defText, want string, parse func(string) (T, error)) T {
	v, ok := e.get(name, defText)
	if !ok {
		return def
	}
	t, err := parse(v)
	if err != nil {
		e.Fail(name, want)
		return def
	}
	return t
}
