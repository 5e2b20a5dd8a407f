package config_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/config"
)

func TestDefaults(t *testing.T) {
	e := config.Map(map[string]string{"BLANK": "  "})
	if e.String("BLANK", "d") != "d" || e.Int("I", 7) != 7 || e.Float("F", 1.5) != 1.5 ||
		e.Duration("D", 10*time.Minute) != 10*time.Minute || e.Millis("M", 550*time.Millisecond) != 550*time.Millisecond ||
		e.Level("L", slog.LevelInfo) != slog.LevelInfo || !slices.Equal(e.List("LS", "a", "b"), []string{"a", "b"}) || e.Secret("S") != "" {
		t.Fatal("a default was not returned")
	}
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	want := []config.Var{{Name: "BLANK", Default: "d"}, {Name: "I", Default: "7"}, {Name: "F", Default: "1.5"}, {Name: "D", Default: "10m"}, {Name: "M", Default: "550"}, {Name: "L", Default: "info"}, {Name: "LS", Default: "a,b"}, {Name: "S", Default: ""}}
	if got := e.Vars(); !slices.Equal(got, want) {
		t.Fatalf("vars %v, want %v", got, want)
	}
}

func TestValues(t *testing.T) {
	e := config.Map(map[string]string{
		"S": " x ", "SECRET": " s p ", "I": "42", "F": "2.5", "D": "1500", "D2": "2s", "M": "1s",
		"L": "DEBUG", "LS": " a, ,b ,",
	})
	if e.String("S", "") != "x" || e.Secret("SECRET") != " s p " || e.Int("I", 0) != 42 || e.Float("F", 0) != 2.5 ||
		e.Duration("D", 0) != 1500*time.Millisecond || e.Duration("D2", 0) != 2*time.Second || e.Millis("M", 0) != time.Second ||
		e.Level("L", slog.LevelInfo) != slog.LevelDebug || !slices.Equal(e.List("LS"), []string{"a", "b"}) {
		t.Fatal("a value was not parsed")
	}
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	e.String("S", "other") // read twice: recorded once
	if n := len(e.Vars()); n != 9 {
		t.Fatalf("%d vars", n)
	}
}

// Every bad value is reported, each naming its variable, and gives the default.
func TestErrors(t *testing.T) {
	e := config.Map(map[string]string{"I": "1e2", "F": "x", "D": "soon", "M": "0", "L": "loud", "P": "nope"})
	if e.Int("I", 3) != 3 || e.Float("F", 1) != 1 || e.Duration("D", time.Second) != time.Second ||
		e.Millis("M", time.Second) != time.Second || e.Level("L", slog.LevelWarn) != slog.LevelWarn {
		t.Fatal("a bad value did not give the default")
	}
	p := config.Func(e, "P", 5, "5", "a port", func(string) (int, error) { return 0, errors.ErrUnsupported })
	if p != 5 {
		t.Fatal(p)
	}
	err := e.Err()
	for _, name := range []string{`I="1e2"`, `F="x"`, `D="soon"`, `M="0"`, `L="loud"`, `P="nope": want a port`} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0", 2 * time.Millisecond: "2ms", 15 * time.Second: "15s",
		10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Second: "1m30s"} {
		if got := config.FormatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
