package phones_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/phones"
)

// The fuzz targets check that no input panics, that every error is a
// *tracking.Error, and that every fix the parsers return is one the
// platform accepts (tracking.Position.Validate) with its optional values
// in range. The recorded request shapes seed them.

func seeds(f *testing.F, dir string) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		if b, err := os.ReadFile(in); err == nil {
			f.Add(strings.TrimSpace(string(b)))
		}
	}
}

func checkResult(t *testing.T, fixes []phones.Fix, err error) {
	t.Helper()
	if err != nil {
		var e *tracking.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *tracking.Error", err, err)
		}
		if e.Code == tracking.CodeInvalidField && e.Field == "" {
			t.Fatalf("invalid_field without a field: %v", err)
		}
		return
	}
	for _, f := range fixes {
		p := f.Position("t", "w")
		if p.ID == "" {
			p.ID = "x"
		}
		if err := p.Validate(now); err != nil {
			t.Fatalf("fix %+v makes an invalid record: %v", f, err)
		}
		if f.Battery != nil && !(*f.Battery >= 0 && *f.Battery <= 100) {
			t.Fatalf("battery %v", *f.Battery)
		}
		if f.Altitude != nil && (math.IsNaN(*f.Altitude) || math.IsInf(*f.Altitude, 0)) {
			t.Fatalf("altitude %v", *f.Altitude)
		}
	}
}

func FuzzParseOsmAndQuery(f *testing.F) {
	seeds(f, "osmand-query")
	f.Add("id=a&lat=1&lon=2&timestamp=2025-09-01T10:00:00 02:00")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		fix, err := phones.ParseOsmAndQuery(v, now)
		if err != nil {
			checkResult(t, nil, err)
			return
		}
		checkResult(t, []phones.Fix{fix}, nil)
	})
}

func FuzzParseOsmAndJSON(f *testing.F) {
	seeds(f, "osmand-json")
	f.Fuzz(func(t *testing.T, body string) {
		fixes, err := phones.ParseOsmAndJSON([]byte(body), now)
		checkResult(t, fixes, err)
		if err == nil && len(fixes) == 0 {
			t.Fatal("no error and no fix")
		}
	})
}

func FuzzParseOwnTracks(f *testing.F) {
	seeds(f, "owntracks")
	f.Fuzz(func(t *testing.T, body string) {
		m, err := phones.ParseOwnTracks([]byte(body), now)
		if err != nil {
			checkResult(t, nil, err)
			return
		}
		if (m.Fix != nil) != (m.Type == "location") {
			t.Fatalf("type %q with fix %v", m.Type, m.Fix)
		}
		if m.Fix != nil {
			checkResult(t, []phones.Fix{*m.Fix}, nil)
		}
	})
}

func FuzzAppendOwnTracksLocation(f *testing.F) {
	f.Add("K2", "owntracks/kim/phone", "Kim", 51.5, -0.12, int64(1756720800), 15.0, 270.0)
	f.Fuzz(func(t *testing.T, tid, topic, name string, lat, lon float64, tst int64, speed, cog float64) {
		c := phones.OwnTracksCard{TrackerID: tid, Topic: topic, Name: name, Latitude: lat, Longitude: lon,
			Time: time.Unix(tst, 0), Speed: &speed, Heading: &cog}
		b := phones.AppendOwnTracksResponse(nil, []phones.OwnTracksCard{c})
		if !json.Valid(b) {
			t.Fatalf("not JSON: %q", b)
		}
	})
}
