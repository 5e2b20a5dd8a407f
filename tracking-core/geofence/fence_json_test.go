package geofence

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

const goodPolygon = `{"id":"depot","team":"team_one","name":"Depot","geometry":{"type":"Polygon","coordinates":[` +
	`[[-46.64,-23.56],[-46.62,-23.56],[-46.62,-23.54],[-46.64,-23.54],[-46.64,-23.56]],` +
	`[[-46.635,-23.555],[-46.625,-23.555],[-46.625,-23.545],[-46.635,-23.545],[-46.635,-23.555]]]},` +
	`"dwell":"5m","schedule":{"days":["mon","tue","wed","thu","fri"],"from":"07:00","to":"18:30","tz":"America/Sao_Paulo"},` +
	`"updatedAt":"2026-11-22T13:21:04.123Z"}`

const goodCircle = `{"id":"gate","team":"team_one","name":"Gate","geometry":{"type":"Point","coordinates":[-46.633308,-23.55052],"radius":75}}`

func TestParseFenceRoundTrip(t *testing.T) {
	for _, in := range []string{goodPolygon, goodCircle,
		`{"id":"m","team":"t","name":"two parts","geometry":{"type":"MultiPolygon","coordinates":[` +
			`[[[0,0],[0.001,0],[0.001,0.001],[0,0.001],[0,0]]],[[[0.01,0.01],[0.011,0.01],[0.011,0.011],[0.01,0.011],[0.01,0.01]]]]}}`,
		`{"id":"w","team":"t","name":"night","geometry":{"type":"Point","coordinates":[0,0],"radius":10},` +
			`"schedule":{"days":[],"from":"22:00","to":"06:00","tz":"UTC"}}`,
	} {
		f, err := ParseFence([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("round trip\n got  %s\n want %s", out, in)
		}
		var again Fence
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("unmarshal of the marshalled form: %v", err)
		}
	}
	f, _ := ParseFence([]byte(goodPolygon))
	if f.Dwell != 5*time.Minute || f.Schedule.TZ != "America/Sao_Paulo" || len(f.Geometry.Polygons[0]) != 2 ||
		f.Schedule.From != 420 || f.Schedule.To != 1110 || len(f.Schedule.Days) != 5 {
		t.Errorf("parsed %+v", f)
	}
	// Optional members: no id or team (the service fills them), no dwell,
	// null schedule, a position with an altitude, a GeoJSON bbox.
	f, err := ParseFence([]byte(`{"name":"x","geometry":{"type":"Point","coordinates":[1,2,30],"radius":5,"bbox":[0,0,1,1]},"schedule":null,"dwell":""}`))
	if err != nil || f.Geometry.Center != (Position{Lon: 1, Lat: 2}) || f.Schedule != nil || f.Dwell != 0 {
		t.Errorf("optional members: %+v, %v", f, err)
	}
}

func TestParseFenceErrors(t *testing.T) {
	poly := func(coords string) string {
		return `{"name":"x","geometry":{"type":"Polygon","coordinates":` + coords + `}}`
	}
	sq := `[[0,0],[1e-3,0],[1e-3,1e-3],[0,1e-3],[0,0]]`
	withSchedule := func(s string) string {
		return `{"name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":5},"schedule":` + s + `}`
	}
	tests := []struct {
		name, in, field string
	}{
		{"not an object", `[1]`, ""},
		{"truncated", `{"name":"x"`, ""},
		{"unknown member", `{"name":"x","dwel":"5m","geometry":{}}`, "dwel"},
		{"no geometry", `{"name":"x"}`, "geometry"},
		{"no name", `{"geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "name"},
		{"name not a string", `{"name":5,"geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "name"},
		{"bad id", `{"id":"a b","name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "id"},
		{"dwell too long", `{"name":"x","dwell":"200h","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "dwell"},
		{"name control character", `{"name":"a\u0007","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "name"},
		{"bad team", `{"team":"a b","name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "team"},
		{"geometry not an object", `{"name":"x","geometry":[]}`, "geometry"},
		{"no type", `{"name":"x","geometry":{"coordinates":[0,0]}}`, "geometry.type"},
		{"unknown type", `{"name":"x","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`, "geometry.type"},
		{"circle without radius", `{"name":"x","geometry":{"type":"Point","coordinates":[0,0]}}`, "geometry.radius"},
		{"circle radius zero", `{"name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":0}}`, "geometry.radius"},
		{"circle radius huge", `{"name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":1e9}}`, "geometry.radius"},
		{"circle radius string", `{"name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":"5"}}`, "geometry.radius"},
		{"circle latitude out of range", `{"name":"x","geometry":{"type":"Point","coordinates":[0,91],"radius":5}}`, "geometry.coordinates"},
		{"radius on a polygon", `{"name":"x","geometry":{"type":"Polygon","coordinates":[` + sq + `],"radius":5}}`, "geometry.radius"},
		{"unknown geometry member", `{"name":"x","geometry":{"type":"Point","coordinates":[0,0],"radius":5,"crs":1}}`, "geometry.crs"},
		{"no coordinates", `{"name":"x","geometry":{"type":"Polygon"}}`, "geometry.coordinates"},
		{"coordinates not an array", poly(`{}`), "geometry.coordinates"},
		{"no rings", poly(`[]`), "geometry.coordinates"},
		{"ring not an array", poly(`[5]`), "geometry.coordinates[0]"},
		{"short ring", poly(`[[[0,0],[1e-3,0],[0,0]]]`), "geometry.coordinates[0]"},
		{"open ring", poly(`[[[0,0],[1e-3,0],[1e-3,1e-3],[0,1e-3]]]`), "geometry.coordinates[0][3]"},
		{"position not numbers", poly(`[[[0,0],[1e-3,0],[1e-3,"x"],[0,1e-3],[0,0]]]`), "geometry.coordinates[0][2]"},
		{"position with one number", poly(`[[[0,0],[1e-3],[1e-3,1e-3],[0,1e-3],[0,0]]]`), "geometry.coordinates[0][1]"},
		{"longitude out of range", poly(`[[[0,0],[181,0],[1e-3,1e-3],[0,1e-3],[0,0]]]`), "geometry.coordinates[0][1]"},
		{"latitude out of range in a hole", poly(`[` + sq + `,[[0,0],[1e-4,0],[1e-4,-91],[0,1e-4],[0,0]]]`), "geometry.coordinates[1][2]"},
		{"collinear ring", poly(`[[[0,0],[1e-3,0],[2e-3,0],[3e-3,0],[0,0]]]`), "geometry.coordinates[0]"},
		{"too wide", poly(`[[[0,0],[5,0],[5,1e-3],[0,1e-3],[0,0]]]`), "geometry.coordinates"},
		{"multipolygon part", `{"name":"x","geometry":{"type":"MultiPolygon","coordinates":[[` + sq + `],[[[0,0],[1,1]]]]}}`, "geometry.coordinates[1][0]"},
		{"dwell a number", `{"name":"x","dwell":300,"geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "dwell"},
		{"dwell bad", `{"name":"x","dwell":"5 minutes","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "dwell"},
		{"dwell negative", `{"name":"x","dwell":"-5m","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "dwell"},
		{"schedule not an object", withSchedule(`"weekdays"`), "schedule"},
		{"schedule bad day", withSchedule(`{"days":["mon","funday"]}`), "schedule.days[1]"},
		{"schedule day a number", withSchedule(`{"days":[1]}`), "schedule.days[0]"},
		{"schedule bad from", withSchedule(`{"from":"7am","to":"18:00"}`), "schedule.from"},
		{"schedule from 24:00", withSchedule(`{"from":"24:00","to":"18:00"}`), "schedule.from"},
		{"schedule bad to", withSchedule(`{"from":"07:00","to":"25:00"}`), "schedule.to"},
		{"schedule from without to", withSchedule(`{"from":"07:00"}`), "schedule.from"},
		{"schedule from equals to", withSchedule(`{"from":"07:00","to":"07:00"}`), "schedule.to"},
		{"schedule bad tz", withSchedule(`{"tz":"Mars/Olympus"}`), "schedule.tz"},
		{"schedule Local tz", withSchedule(`{"tz":"Local"}`), "schedule.tz"},
		{"schedule unknown member", withSchedule(`{"hours":"7-18"}`), "schedule.hours"},
		{"updatedAt bad", `{"name":"x","updatedAt":"yesterday","geometry":{"type":"Point","coordinates":[0,0],"radius":5}}`, "updatedAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFence([]byte(tt.in))
			var te *tracking.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *tracking.Error", err)
			}
			if tt.field == "" {
				if te.Code != tracking.CodeInvalidJSON {
					t.Fatalf("code %s, want invalid_json", te.Code)
				}
				return
			}
			if te.Code != tracking.CodeInvalidField || te.Field != tt.field {
				t.Fatalf("error %v: field %q, want %q", err, te.Field, tt.field)
			}
			if strings.TrimSpace(te.Message) == "" {
				t.Fatal("empty message")
			}
		})
	}
}

func FuzzParseFence(f *testing.F) {
	for _, s := range []string{goodPolygon, goodCircle, `{}`, `{"name":"x","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1e-3,0],[1e-3,1e-3],[0,0]]]]}}`,
		`{"name":"x","geometry":{"type":"Point","coordinates":[179.9999,89.9999],"radius":50000}}`, `null`, `{"geometry":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fence, err := ParseFence(data)
		if err != nil {
			if tracking.ErrorCode(err) != tracking.CodeInvalidJSON && tracking.ErrorCode(err) != tracking.CodeInvalidField {
				t.Fatalf("error %v has code %s", err, tracking.ErrorCode(err))
			}
			return
		}
		// What parses compiles, indexes, evaluates, and survives its own
		// JSON form.
		out := fence.AppendJSON(nil)
		again, err := ParseFence(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if string(again.AppendJSON(nil)) != string(out) {
			t.Fatalf("unstable JSON form %s", out)
		}
		fence.ID = "f"
		ix := NewIndex([]Fence{fence})
		if ix.Len() != 1 {
			t.Fatal("a parsed fence is left out of the index")
		}
		e, _ := NewEvaluator(Config{})
		var st WorkerState
		s := &ix.shapes[0]
		e.Evaluate(ix, &st, Fix{Team: "t", Worker: "w", Lat: s.lat0, Lon: s.lon0, Accuracy: 1, Time: t0})
		e.Evaluate(ix, &st, Fix{Team: "t", Worker: "w", Lat: 0, Lon: 0, Accuracy: 1, Time: t0.Add(time.Second)})
	})
}
