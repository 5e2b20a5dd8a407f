package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// env reads settings from the environment. Errors are collected so that every
// bad variable is reported at once, naming the variable.
type env struct {
	get  func(string) string
	errs []error
}

func (e *env) err() error { return errors.Join(e.errs...) }

func (e *env) fail(name, value, want string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: want %s", name, value, want))
}

func (e *env) lookup(name string) (string, bool) {
	v := strings.TrimSpace(e.get(name))
	return v, v != ""
}

func (e *env) str(name, def string) string {
	if v, ok := e.lookup(name); ok {
		return v
	}
	return def
}

// count reads a number of workers. The reference simulator used the variable's
// string as an array length, so REDIS_WORKERS=95 gave one worker: here it is
// parsed as a number, and anything that is not one is refused, never guessed.
func (e *env) count(name string, def int) int {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	n, err := parseCount(v)
	if err != nil {
		e.fail(name, v, "a whole number >= 0")
		return def
	}
	return n
}

// millis reads a delay: whole milliseconds (the reference form, "550") or a Go
// duration ("550ms", "1s").
func (e *env) millis(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	d, err := parseMillis(v)
	if err != nil {
		e.fail(name, v, "milliseconds (550) or a duration (550ms)")
		return def
	}
	return d
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	d, err := parseDuration(v)
	if err != nil {
		e.fail(name, v, "a duration such as 10s, or milliseconds")
		return def
	}
	return d
}

func (e *env) float(name string, def float64) float64 {
	v, ok := e.lookup(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		e.fail(name, v, "a number")
		return def
	}
	return f
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a whole number >= 0", s)
	}
	return n, nil
}

func parseMillis(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%q: a delay must be > 0", s)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither milliseconds nor a duration > 0", s)
	}
	return d, nil
}

// parseDuration reads a Go duration or a whole number of milliseconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	return time.ParseDuration(s)
}
