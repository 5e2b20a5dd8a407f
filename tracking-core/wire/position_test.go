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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wire.DecodePosition([]byte(c.in), now)
			if err == nil {
				t.Fatal("accepted")
			}
			if e, ok := err.(*tracking.Error); !ok || e.Code != c.code || e.Field != c.field {
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
