package phones_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/phones"
	"github.com/teamtrack/tracking-core/wire"
)

// The recorded request shapes in testdata/ are written after the apps'
// public protocol descriptions (see doc.go), with our own values. Each
// input file has a .golden file next to it: the fixes it becomes, and the
// canonical record each fix becomes once the caller has given it a worker
// and a team, or the error it gets. go test -run Golden -update rewrites
// the .golden files; review the diff.

var update = flag.Bool("update", false, "rewrite the .golden files")

// goldenNow is the receipt time of every recorded request.
var goldenNow = time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)

type goldenFix struct {
	Device    string   `json:"device,omitempty"`
	ID        string   `json:"id"`
	Latitude  float64  `json:"latitude"`
	Longitude float64  `json:"longitude"`
	Time      string   `json:"time"`
	Speed     *float64 `json:"speed,omitempty"`
	Heading   *float64 `json:"heading,omitempty"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	Altitude  *float64 `json:"altitude,omitempty"`
	Battery   *float64 `json:"battery,omitempty"`
	// Record is the canonical record (wire.AppendPosition) of the fix given
	// worker "worker-1" of team "team-a" ("late" when more than
	// tracking.LateAfter older than its receipt); battery is not in it yet.
	Record json.RawMessage `json:"record"`
}

type goldenError struct {
	Code    tracking.Code `json:"code"`
	Field   string        `json:"field,omitempty"`
	Message string        `json:"message"`
}

type goldenOut struct {
	// OwnTracks only.
	Type      string `json:"type,omitempty"`
	TrackerID string `json:"tid,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Trigger   string `json:"trigger,omitempty"`
	CreatedAt string `json:"createdAt,omitempty"`

	Fixes []goldenFix  `json:"fixes,omitempty"`
	Error *goldenError `json:"error,omitempty"`
}

func TestGoldenOsmAndQuery(t *testing.T) {
	runGolden(t, "osmand-query", func(t *testing.T, in []byte) goldenOut {
		v, err := url.ParseQuery(strings.TrimSpace(string(in)))
		if err != nil {
			t.Fatalf("fixture is not a query string: %v", err)
		}
		f, err := phones.ParseOsmAndQuery(v, goldenNow)
		if err != nil {
			return errorOut(t, err)
		}
		return goldenOut{Fixes: []goldenFix{fixOut(t, f)}}
	})
}

func TestGoldenOsmAndJSON(t *testing.T) {
	runGolden(t, "osmand-json", func(t *testing.T, in []byte) goldenOut {
		fixes, err := phones.ParseOsmAndJSON(in, goldenNow)
		if err != nil {
			return errorOut(t, err)
		}
		var out goldenOut
		for _, f := range fixes {
			out.Fixes = append(out.Fixes, fixOut(t, f))
		}
		return out
	})
}

func TestGoldenOwnTracks(t *testing.T) {
	runGolden(t, "owntracks", func(t *testing.T, in []byte) goldenOut {
		m, err := phones.ParseOwnTracks(in, goldenNow)
		if err != nil {
			return errorOut(t, err)
		}
		out := goldenOut{Type: m.Type, TrackerID: m.TrackerID, Topic: m.Topic, Trigger: m.Trigger}
		if out.Type == "" {
			out.Type = "(empty body)"
		}
		if !m.CreatedAt.IsZero() {
			out.CreatedAt = m.CreatedAt.Format(time.RFC3339Nano)
		}
		if m.Fix != nil {
			f := *m.Fix
			if f.Device != "" || f.ID != "" {
				t.Errorf("an OwnTracks fix has device %q, id %q; want both empty", f.Device, f.ID)
			}
			// What the caller does: the device is the request's user and
			// device (basic auth), the id derives from it.
			f.ID = phones.FixID(phones.OwnTracksSource, "kim-phone", f.Time)
			out.Fixes = []goldenFix{fixOut(t, f)}
		} else if m.Type == "location" {
			t.Error("a location without a fix")
		}
		return out
	})
}

func runGolden(t *testing.T, dir string, parse func(*testing.T, []byte) goldenOut) {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out := parse(t, data)
			if strings.HasPrefix(name, "err-") != (out.Error != nil) {
				t.Errorf("fixtures named err-* must fail and only they: error %+v", out.Error)
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: got\n%s\nwant\n%s", in, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
}

func errorOut(t *testing.T, err error) goldenOut {
	t.Helper()
	var e *tracking.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tracking.Error", err, err)
	}
	if e.Code == tracking.CodeInvalidField && e.Field == "" {
		t.Errorf("an invalid_field error names no field: %v", err)
	}
	return goldenOut{Error: &goldenError{Code: e.Code, Field: e.Field, Message: e.Message}}
}

// fixOut renders f and checks that it becomes a valid canonical record.
func fixOut(t *testing.T, f phones.Fix) goldenFix {
	t.Helper()
	p := f.Position("team-a", "worker-1")
	if p.ID == "" {
		p.ID = "assigned-by-the-caller"
	}
	if err := p.Validate(goldenNow); err != nil {
		t.Errorf("the fix does not make a valid record: %v", err)
	}
	if f.Battery != nil && (*f.Battery < 0 || *f.Battery > 100) {
		t.Errorf("battery %v is not a percentage", *f.Battery)
	}
	p.Late = goldenNow.Sub(f.Time) > tracking.LateAfter
	return goldenFix{
		Device: f.Device, ID: f.ID,
		Latitude: f.Latitude, Longitude: f.Longitude,
		Time:  f.Time.Format(time.RFC3339Nano),
		Speed: f.Speed, Heading: f.Heading, Accuracy: f.Accuracy, Altitude: f.Altitude, Battery: f.Battery,
		Record: wire.AppendPosition(nil, &p),
	}
}
