package wire_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

var now = time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)

func TestDecodeCanonicalRoundTrip(t *testing.T) {
	in := `{"id":"9b2f","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","accuracy":5,"speed":1.5,"heading":270}`
	p, err := wire.DecodePosition([]byte(in), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(wire.AppendPosition(nil, &p)); got != in {
		t.Fatalf("canonical form changed:\n got %s\nwant %s", got, in)
	}
	m := wire.NewMessage(&p, now)
	if m.Team != "team_one" || m.Worker != "w-17" || m.Time != p.TimeStamp.UnixNano() || m.Received != now.UnixNano() || string(m.JSON) != in {
		t.Fatalf("message %+v", m)
	}
}

// battery is an optional number placed after heading; like accuracy, speed
// and heading it may come as a numeric string, and is written as a number.
func TestBatteryRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"id":"9b2f","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","accuracy":5,"speed":1.5,"heading":270,"battery":87.5}`, ""},
		{`{"id":"b1","workerId":"w-17","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.123Z","battery":0}`, ""},
		{`{"id":"b2","workerId":"w-17","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.123Z","battery":100}`, ""},
		{`{"battery":"64","id":"b3","workerId":"w-17","team":"team_one","location":{"latitude":"1","longitude":"2"},"timeStamp":"22/11/2026 13:21:04"}`,
			`{"id":"b3","workerId":"w-17","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.000Z","battery":64}`},
		{`{"id":"b4","workerId":"w-17","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.123Z","battery":null}`,
			`{"id":"b4","workerId":"w-17","team":"team_one","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.123Z"}`},
	} {
		want := c.want
		if want == "" {
			want = c.in
		}
		p, err := wire.DecodePosition([]byte(c.in), now)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := string(wire.AppendPosition(nil, &p)); got != want {
			t.Fatalf("canonical form:\n got %s\nwant %s", got, want)
		}
		p.Late = true
		if got, wantLate := string(wire.AppendPosition(nil, &p)), want[:len(want)-1]+`,"late":true}`; got != wantLate {
			t.Fatalf("late record:\n got %s\nwant %s", got, wantLate)
		}
	}
}

// AppendPosition writes what encoding/json writes of a tracking.Position
// (for a timestamp whose milliseconds have no trailing zero and numbers
// encoding/json writes without an exponent): same members, same order.
func TestAppendPositionMatchesEncodingJSON(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	ts := time.Date(2026, 11, 22, 13, 21, 4, 123e6, time.UTC)
	for _, p := range []tracking.Position{
		{ID: "9b2f", WorkerID: "w-17", Team: "team_one", Location: tracking.Location{Latitude: -23.55052, Longitude: -46.633308}, TimeStamp: ts},
		{ID: "9b2f", WorkerID: "w-17", Team: "team_one", Location: tracking.Location{Latitude: -23.55052, Longitude: -46.633308}, TimeStamp: ts,
			Accuracy: f(5), Speed: f(1.5), Heading: f(270), Battery: f(87.5)},
		{ID: "x", WorkerID: "w", Team: "t", TimeStamp: ts, Battery: f(0)},
		{ID: "x", WorkerID: "w", Team: "t", TimeStamp: ts, Heading: f(0), Battery: f(100)},
		{ID: "x", WorkerID: "w", Team: "t", TimeStamp: ts, Speed: f(3), Battery: f(33.333333333333336)},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := wire.AppendPosition(nil, &p); string(got) != string(want) {
			t.Fatalf("AppendPosition\n got %s\nencoding/json %s", got, want)
		}
		var back tracking.Position
		if err := json.Unmarshal(wire.AppendPosition(nil, &p), &back); err != nil {
			t.Fatal(err)
		}
		if (back.Battery == nil) != (p.Battery == nil) || p.Battery != nil && *back.Battery != *p.Battery {
			t.Fatalf("battery %v came back as %v", p.Battery, back.Battery)
		}
	}
}

func TestDecodeLegacyForm(t *testing.T) {
	in := `{"workerId":"w1","team":"team_one","location":{"latitude":"-23.5","longitude":" -46.6 "},"timeStamp":"22/11/2026 13:21:04"}`
	p, err := wire.DecodePosition([]byte(in), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Location.Latitude != -23.5 || p.Location.Longitude != -46.6 {
		t.Fatalf("location %+v", p.Location)
	}
	if want := time.Date(2026, 11, 22, 13, 21, 4, 0, time.UTC); !p.TimeStamp.Equal(want) {
		t.Fatalf("timeStamp %s, want %s", p.TimeStamp, want)
	}
	if len(p.ID) != 36 {
		t.Fatalf("missing id not assigned a UUID: %q", p.ID)
	}
	var out map[string]any
	if err := json.Unmarshal(wire.AppendPosition(nil, &p), &out); err != nil {
		t.Fatalf("canonical JSON does not parse: %v", err)
	}
	if out["timeStamp"] != "2026-11-22T13:21:04.000Z" {
		t.Fatalf("timeStamp written as %v", out["timeStamp"])
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	base := func(repl string) string {
		return strings.Replace(`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04Z"X}`, "X", repl, 1)
	}
	cases := []struct {
		name, in, field string
		code            tracking.Code
	}{
		{"empty", ``, "", tracking.CodeInvalidJSON},
		{"array", `[1]`, "", tracking.CodeInvalidJSON},
		{"truncated", `{"workerId":"w1"`, "", tracking.CodeInvalidJSON},
		{"no worker", `{"team":"t1","location":{"latitude":1,"longitude":2}}`, "workerId", tracking.CodeInvalidField},
		{"worker number", `{"workerId":5,"team":"t1","location":{"latitude":1,"longitude":2}}`, "workerId", tracking.CodeInvalidField},
		{"no location", `{"workerId":"w","team":"t1"}`, "location", tracking.CodeInvalidField},
		{"latitude bool", `{"workerId":"w","team":"t1","location":{"latitude":true,"longitude":2}}`, "location.latitude", tracking.CodeInvalidField},
		{"latitude -90.0001", `{"workerId":"w","team":"t1","location":{"latitude":-90.0001,"longitude":2}}`, "location.latitude", tracking.CodeInvalidField},
		{"longitude 180.5", `{"workerId":"w","team":"t1","location":{"latitude":0,"longitude":180.5}}`, "location.longitude", tracking.CodeInvalidField},
		{"longitude Infinity", `{"workerId":"w","team":"t1","location":{"latitude":0,"longitude":"Infinity"}}`, "location.longitude", tracking.CodeInvalidField},
		{"huge exponent", `{"workerId":"w","team":"t1","location":{"latitude":1e999,"longitude":0}}`, "location.latitude", tracking.CodeInvalidField},
		{"team space", `{"workerId":"w","team":"a b","location":{"latitude":0,"longitude":0}}`, "team", tracking.CodeInvalidField},
		{"team 65", `{"workerId":"w","team":"` + strings.Repeat("t", 65) + `","location":{"latitude":0,"longitude":0}}`, "team", tracking.CodeInvalidField},
		{"bad date", base(`,"timeStamp":"32/01/2026 10:00:00"`), "timeStamp", tracking.CodeInvalidField},
		{"future", base(`,"timeStamp":"2026-11-24T13:30:01Z"`), "timeStamp", tracking.CodeInvalidField},
		{"heading 361", base(`,"heading":361`), "heading", tracking.CodeInvalidField},
		{"negative speed", base(`,"speed":-1`), "speed", tracking.CodeInvalidField},
		{"id quote", base(`,"id":"a\"b"`), "id", tracking.CodeInvalidField},
		{"battery -1", base(`,"battery":-1`), "battery", tracking.CodeInvalidField},
		{"battery 101", base(`,"battery":101`), "battery", tracking.CodeInvalidField},
		{"battery NaN string", base(`,"battery":"NaN"`), "battery", tracking.CodeInvalidField},
		{"battery Infinity string", base(`,"battery":"Infinity"`), "battery", tracking.CodeInvalidField},
		{"battery text", base(`,"battery":"full"`), "battery", tracking.CodeInvalidField},
		{"battery bool", base(`,"battery":true`), "battery", tracking.CodeInvalidField},
		{"battery object", base(`,"battery":{"level":50}`), "battery", tracking.CodeInvalidField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wire.DecodePosition([]byte(c.in), now)
			if err == nil {
				t.Fatal("accepted")
			}
			if e, ok := err.(*tracking.Error); !ok || e.Code != c.code || e.Field != c.field ||
				c.field != "" && !strings.Contains(e.Error(), c.field) {
				t.Fatalf("error %v, want code %s field %q", err, c.code, c.field)
			}
		})
	}
}

func TestDecodeAccepts24hAheadExactly(t *testing.T) {
	in := `{"workerId":"w","team":"t","location":{"latitude":90,"longitude":-180},"timeStamp":"2026-11-23T13:30:00Z"}`
	if _, err := wire.DecodePosition([]byte(in), now); err != nil {
		t.Fatalf("boundary values rejected: %v", err)
	}
}
