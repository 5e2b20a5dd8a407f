package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

var decodeNow = time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)

// decodeEquivalenceInputs are records that exercise every corner of the
// decoder; each must decode exactly as decodeReference decodes it. They also
// seed FuzzDecodePosition.
func decodeEquivalenceInputs() []string {
	const (
		loc   = `"location":{"latitude":1,"longitude":2}`
		who   = `"workerId":"w1","team":"t1"`
		ts    = `"timeStamp":"2026-11-22T13:21:04Z"`
		valid = `{` + who + `,` + loc + `,` + ts + `}`
	)
	rec := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	nest := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	in := []string{
		// The forms of the contract.
		`{"id":"9b2f","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","accuracy":5,"speed":1.5,"heading":270}`,
		`{"id":"9b2f3c1e-8a4b-4c2d-9e0f-123456789abc","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","speed":1.4,"heading":270}`,
		`{"workerId":"w1","team":"team_one","location":{"latitude":"-23.5","longitude":" -46.6 "},"timeStamp":"22/11/2026 13:21:04"}`,
		valid,
		rec(who, loc), // no timestamp: now
		rec(who, loc, `"id":""`),
		rec(who, loc, `"timeStamp":null`, `"accuracy":null`, `"speed":null`, `"heading":null`, `"id":null`),
		rec(who, loc, ts, `"accuracy":0`, `"speed":0`, `"heading":0`),
		rec(who, loc, ts, `"accuracy":1e2`, `"speed":-0`, `"heading":360`),
		rec(who, loc, ts, `"heading":"90"`, `"speed":" 2.5\t"`, `"accuracy":"\u0031"`),
		rec(who, `"location":{"latitude":90,"longitude":-180}`, `"timeStamp":"2026-11-23T13:30:00Z"`),
		" \t\r\n" + valid + "\n\r\t ",
		"\u00a0\u2003" + valid + "\u3000\u0085", // bytes.TrimSpace trims Unicode spaces
		"\v\f" + valid + "\v",
		"\ufeff" + valid, // a BOM is not white space
		`{ "workerId" : "w1" , "team" : "t1" , "location" : { "latitude" : 1 , "longitude" : 2 } }`,

		// The errors of position_test.go.
		``, `[1]`, `{"workerId":"w1"`, `"hello"`, `null`, `12`, `   `,
		`{"team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"workerId":5,"team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"workerId":"w","team":"t1"}`,
		`{"workerId":"w","team":"t1","location":{"latitude":true,"longitude":2}}`,
		`{"workerId":"w","team":"t1","location":{"latitude":-90.0001,"longitude":2}}`,
		`{"workerId":"w","team":"t1","location":{"latitude":0,"longitude":180.5}}`,
		`{"workerId":"w","team":"t1","location":{"latitude":0,"longitude":"Infinity"}}`,
		`{"workerId":"w","team":"t1","location":{"latitude":1e999,"longitude":0}}`,
		`{"workerId":"w","team":"a b","location":{"latitude":0,"longitude":0}}`,
		`{"workerId":"w","team":"` + strings.Repeat("t", 65) + `","location":{"latitude":0,"longitude":0}}`,
		rec(who, loc, `"timeStamp":"32/01/2026 10:00:00"`),
		rec(who, loc, `"timeStamp":"31/02/2026 10:00:00"`),
		rec(who, loc, `"timeStamp":"2026-11-24T13:30:01Z"`),
		rec(who, loc, ts, `"heading":361`),
		rec(who, loc, ts, `"speed":-1`),
		rec(who, loc, ts, `"id":"a\"b"`),

		// Every field of the wrong type, missing, null or out of range, in turn.
		rec(`"id":5`, who, loc), rec(`"id":{}`, who, loc), rec(`"id":[]`, who, loc), rec(`"id":true`, who, loc),
		rec(`"id":"`+strings.Repeat("i", 129)+`"`, who, loc), rec(`"id":"`+strings.Repeat("i", 128)+`"`, who, loc),
		rec(`"workerId":null`, `"team":"t"`, loc), rec(`"workerId":""`, `"team":"t"`, loc),
		rec(`"workerId":{"a":1}`, `"team":"t"`, loc), rec(`"workerId":false`, `"team":"t"`, loc),
		rec(`"id":"x1"`, `"workerId":"w"`, loc), rec(`"id":"x1"`, `"workerId":"w"`, `"team":null`, loc),
		rec(`"id":"x1"`, `"workerId":"w"`, `"team":[1]`, loc), rec(`"id":"x\u00e91"`, `"workerId":"w\u00e9"`, `"team":-1`, loc),
		rec(`"id":"x1"`, who, `"location":null`), rec(`"id":"x1"`, who, `"location":"here"`),
		rec(who, `"location":[1,2]`), rec(who, `"location":12`), rec(who, `"location":true`), rec(who, `"location":false`),
		rec(who, `"location":{}`), rec(who, `"location":{"latitude":1}`), rec(who, `"location":{"longitude":1}`),
		rec(who, `"location":{"latitude":null,"longitude":1}`), rec(who, `"location":{"latitude":1,"longitude":null}`),
		rec(who, `"location":{"latitude":[1],"longitude":1}`), rec(who, `"location":{"latitude":1,"longitude":{}}`),
		rec(who, `"location":{"latitude":"","longitude":1}`), rec(who, `"location":{"latitude":" ","longitude":1}`),
		rec(who, `"location":{"latitude":"NaN","longitude":"1"}`), rec(who, `"location":{"latitude":"nan","longitude":1}`),
		rec(who, `"location":{"latitude":"-Inf","longitude":1}`), rec(who, `"location":{"latitude":"0x1p-2","longitude":1}`),
		rec(who, `"location":{"latitude":"1_0","longitude":1}`), rec(who, `"location":{"latitude":"+1","longitude":"1e1"}`),
		rec(who, `"location":{"latitude":"1e400","longitude":1}`), rec(who, `"location":{"latitude":1e-400,"longitude":-1e-400}`),
		rec(who, `"location":{"latitude":-0,"longitude":0.0}`), rec(who, `"location":{"latitude":90.0000000000000001,"longitude":1}`),
		rec(who, `"location":{"latitude":"\u00a01\u2003","longitude":"\u0085-2\u00a0"}`),
		rec(who, `"location":{"latitude":"\u00311.5","longitude":"2\/"}`),
		rec(who, `"location":{"latitude":"`+strings.Repeat("1", 40)+`","longitude":1}`),
		rec(who, `"location":{"latitude":"1`+strings.Repeat(" ", 100)+`","longitude":1}`),
		rec(who, `"location":{"latitude":`+strings.Repeat("1", 400)+`,"longitude":1}`),
		rec(who, `"location":{"latitude":0.`+strings.Repeat("0", 400)+`1,"longitude":1}`),
		rec(who, `"location":{"latitude":"\ud800","longitude":1}`),
		rec(who, loc, `"timeStamp":12`), rec(who, loc, `"timeStamp":{}`), rec(who, loc, `"timeStamp":""`),
		rec(who, loc, `"timeStamp":"2026-11-22T13:21:04.123456789+05:30"`), rec(who, loc, `"timeStamp":"2026-11-22T13:21:04-00:00"`),
		rec(who, loc, `"timeStamp":"2026-11-22t13:21:04z"`), rec(who, loc, `"timeStamp":"2026-11-22 13:21:04Z"`),
		rec(who, loc, `"timeStamp":"2026-11-22T24:00:00Z"`), rec(who, loc, `"timeStamp":"0001-01-01T00:00:00Z"`),
		rec(who, loc, `"timeStamp":"0000-01-01T00:00:00Z"`), rec(who, loc, `"timeStamp":"9999-12-31T23:59:59.999999999Z"`),
		rec(who, loc, `"timeStamp":"2026-11-22T13:21:04.123456789123456789Z"`),
		rec(who, loc, `"timeStamp":"01/01/0001 00:00:00"`), rec(who, loc, `"timeStamp":"1/1/2026 00:00:00"`),
		rec(who, loc, `"timeStamp":"22/11/2026 13:21"`), rec(who, loc, `"timeStamp":"22/11/2026 13:21:04 "`),
		rec(who, loc, `"timeStamp":"22/11/2026 25:00:00"`), rec(who, loc, `"timeStamp":"\u0032026-11-22T13:21:04\u002e5Z"`),
		rec(who, loc, `"timeStamp":"`+strings.Repeat("é", 30)+`"`), rec(who, loc, `"timeStamp":"\ud83d\ude00"`),
		rec(who, loc, ts, `"accuracy":-0.1`), rec(who, loc, ts, `"accuracy":"x"`), rec(who, loc, ts, `"accuracy":true`),
		rec(who, loc, ts, `"accuracy":1`, `"speed":"Inf"`), rec(who, loc, ts, `"accuracy":1`, `"speed":2`, `"heading":-1`),
		rec(who, loc, ts, `"accuracy":1`, `"speed":2`, `"heading":[]`), rec(who, loc, ts, `"accuracy":2`, `"heading":"360.0001"`),
		rec(who, loc, ts, `"speed":1e309`), rec(who, loc, ts, `"heading":{"a":1}`),

		// battery: an optional number like the others, percent in [0, 100].
		rec(who, loc, ts, `"battery":87`), rec(who, loc, ts, `"battery":0`), rec(who, loc, ts, `"battery":100`),
		rec(who, loc, ts, `"battery":100.0`), rec(who, loc, ts, `"battery":-0`), rec(who, loc, ts, `"battery":0.5e2`),
		rec(who, loc, ts, `"battery":null`), rec(who, loc, ts, `"battery":"57.5"`), rec(who, loc, ts, `"battery":" 42\t"`),
		rec(who, loc, ts, `"battery":-1`), rec(who, loc, ts, `"battery":101`), rec(who, loc, ts, `"battery":100.0000001`),
		rec(who, loc, ts, `"battery":"NaN"`), rec(who, loc, ts, `"battery":"Inf"`), rec(who, loc, ts, `"battery":1e999`),
		rec(who, loc, ts, `"battery":""`), rec(who, loc, ts, `"battery":"x"`), rec(who, loc, ts, `"battery":true`),
		rec(who, loc, ts, `"battery":[50]`), rec(who, loc, ts, `"battery":{"level":50}`),
		rec(who, loc, ts, `"accuracy":3`, `"speed":2`, `"heading":90`, `"battery":12.5`),
		rec(who, loc, ts, `"battery":12.5`, `"heading":90`), rec(who, loc, ts, `"accuracy":3`, `"battery":1`),
		rec(who, loc, ts, `"accuracy":3`, `"speed":2`, `"heading":400`, `"battery":50`),
		rec(who, loc, ts, `"accuracy":3`, `"speed":2`, `"heading":90`, `"battery":"x"`),
		rec(who, loc, ts, `"accuracy":"x"`, `"battery":50`),
		rec(who, loc, ts, `"battery":50`, `"battery":null`), rec(who, loc, ts, `"battery":"x"`, `"battery":5`),
		rec(who, loc, ts, `"BATTERY":20`), rec(who, loc, ts, `"Battery":20`, `"battery":30`), rec(who, loc, ts, `"b\u0061ttery":20`),
		rec(who, loc, ts, `"batteryLevel":20`), rec(who, loc, ts, `"batt":20`),
		rec(who, `"location":{"latitude":1,"longitude":2,"battery":"x"}`, ts),
		rec(who, `"location":{"latitude":1,"longitude":2,"battery":50}`, ts),
		rec(who, loc, `"timeStamp":"bad"`, `"battery":101`),
		rec(`"workerId":5`, `"team":"t1"`, loc, `"battery":"x"`),

		// Keys: encoding/json matches them case-insensitively, with Unicode
		// folding, after decoding escapes; the last duplicate wins.
		`{"WORKERID":"w1","Team":"t1","LOCATION":{"LATITUDE":1,"LongItude":2},"TIMESTAMP":"2026-11-22T13:21:04Z","ID":"x","Speed":1,"HEADING":2,"ACCURACY":3}`,
		`{"workerid":"w1","team":"t1","location":{"latitude":1,"longitude":2},"timestamp":"2026-11-22T13:21:04Z"}`,
		`{"wor` + "\u212a" + `erId":"w1","team":"t1","location":{"latitude":1,"longitude":2},"time` + "\u017f" + `tamp":"2026-11-22T13:21:04Z","` + "\u017f" + `peed":3}`,
		`{"wor\u212aerId":"w1","team":"t1","location":{"latitude":1,"longitude":2},"time\u017ftamp":"2026-11-22T13:21:04Z","\u017fPEED":3}`,
		`{"\u0077orkerId":"w1","t\u0065am":"t1","loc\u0061tion":{"l\u0061titude":1,"longitude":2},"\u0069\u0064":"abc"}`,
		`{"worker\u0049d":"w1","team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"worker_id":"w1","workerId ":"x","team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"workerıd":"w1","team":"t1","location":{"latitude":1,"longitude":2}}`, // dotless i does not fold to i
		`{"workerİd":"w1","team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"wor` + "\xe2\x84" + `erId":"w1","team":"t1","location":{"latitude":1,"longitude":2}}`,
		`{"time` + "\xc5" + `tamp":"x",` + who + `,` + loc + `}`,
		`{"timeſ` + "\xbf" + `amp":"x",` + who + `,` + loc + `}`,
		`{"id":"a","id":"b",` + who + `,` + loc + `}`,
		`{"id":"a","id":null,` + who + `,` + loc + `}`,
		`{"id":"a","ID":7,` + who + `,` + loc + `}`,
		`{"workerId":5,"workerId":"w1","team":"t1",` + loc + `}`,
		`{"workerId":"w1","workerId":null,"team":"t1",` + loc + `}`,
		`{` + who + `,"location":{"latitude":1,"longitude":2},"location":{"latitude":3}}`,
		`{` + who + `,"location":{"latitude":1,"longitude":2},"location":null}`,
		`{` + who + `,"location":"x","location":{"latitude":1,"longitude":2}}`,
		`{` + who + `,"location":{"latitude":1,"longitude":2},"location":[]}`,
		`{` + who + `,"location":{"latitude":1,"latitude":"5","longitude":2,"Longitude":null}}`,
		`{` + who + `,"latitude":1,"longitude":2,"location":{"latitude":3,"longitude":4}}`,
		`{` + who + `,"location":{"location":{"latitude":9},"latitude":3,"longitude":4,"id":"zz"}}`,
		`{` + who + `,` + loc + `,"speed":1,"speed":null}`,
		`{` + who + `,` + loc + `,"timeStamp":"bad","timeStamp":"2026-11-22T13:21:04Z"}`,

		// Unknown members of every kind are skipped.
		`{"extra":{"a":[1,{"b":null,"c":[true,false,"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]}],"d":-0.5e-3},` + who + `,"note":"x","n":[],"o":{},` + loc + `,"z":[[[]],{}]}`,
		`{"":"",` + who + `,` + loc + `," ":1,"\u0000":2,"\"":3}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2,"altitude":{"m":[1,2,3]},"x":"y"}}`,
		rec(`"deep":`+nest(9999, "[", "]"), who, loc),
		rec(`"deep":`+nest(10000, "[", "]"), who, loc),
		rec(`"deep":`+nest(9999, `{"a":`, "}")[:9999*5]+"1"+strings.Repeat("}", 9999), who, loc),
		rec(`"deep":`+nest(10000, `{"a":`, "}")[:10000*5]+"1"+strings.Repeat("}", 10000), who, loc),
		rec(who, `"location":{"latitude":1,"longitude":2,"x":`+nest(9998, "[", "]")+`}`),
		rec(who, `"location":{"latitude":1,"longitude":2,"x":`+nest(9999, "[", "]")+`}`),
		rec(who, `"location":`+nest(9999, "[", "]")),
		rec(who, `"location":`+nest(10000, "[", "]")),

		// Strings: escapes, Unicode, surrogates, invalid UTF-8.
		rec(`"workerId":"w\u002d1"`, `"team":"t\/1"`, loc),
		rec(`"workerId":"w\n"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\t1"`, `"team":"t\\1"`, loc),
		rec(`"workerId":"\ud83d\ude00"`, `"team":"t1"`, loc),
		rec(`"workerId":"😀"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\ud800"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\ud800\u0041"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\udc00\ud800x"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\ud800\ud800\udc00"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\ud800\\u0041"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\uD83D\uDE00"`, `"team":"t1"`, loc),
		rec(`"workerId":"w\u0000"`, `"team":"t1"`, loc),
		rec(`"workerId":"w`+"\xff"+`1"`, `"team":"t1"`, loc),
		rec(`"workerId":"w`+"\xed\xa0\x80"+`"`, `"team":"t1"`, loc),
		rec(`"workerId":"w`+"\xc3"+`"`, `"team":"t1"`, loc),
		rec(`"workerId":"w`+"\xff"+`\n"`, `"team":"t1"`, loc),
		rec(`"workerId":"é`+"\x80"+`"`, `"team":"t1"`, loc),
		rec(`"workerId":"`+strings.Repeat("é", 40)+`"`, `"team":"t1"`, loc),
		rec(`"workerId":"`+strings.Repeat(`\u00e9`, 40)+`"`, `"team":"t1"`, loc),
		rec(`"id":"`+strings.Repeat("a", 200)+`"`, `"workerId":"`+strings.Repeat("w", 100)+`"`, `"team":"`+strings.Repeat("t", 100)+`"`, loc),
		rec(`"id":"\u0061\u0062"`, `"workerId":"\u0077"`, `"team":"\u0074"`, loc, ts),
		rec(`"id":"a\u007f"`, who, loc),
		rec(`"id":"`+"\x7f"+`"`, who, loc),

		// Malformed JSON, also where a field is wrong as well: invalid_json wins.
		valid + ` x`, valid + `}`, valid + `,`, valid + `{}`, valid + `[`, valid + "\x00", `{} {}`, `{}}`,
		`{`, `{"`, `{"a`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`,
		`{a:1}`, `{'a':1}`, `{"a":'x'}`, `{"a":tru}`, `{"a":nul}`, `{"a":True}`, `{"a":nulll}`, `{"a":truefalse}`,
		`{"a":"x}`, `{"a":"x\"}`, `{"a":"\x"}`, `{"a":"\u12G4"}`, `{"a":"\u12"}`, `{"a":"\'"}`, `{"a":"` + "\x01" + `"}`,
		`{"a":"` + "\n" + `"}`, `{"a":"` + "\t" + `"}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":1e+}`,
		`{"a":--1}`, `{"a":-01}`, `{"a":+1}`, `{"a":1.5e3.2}`, `{"a":0x10}`, `{"a":NaN}`, `{"a":Infinity}`, `{"a":-Infinity}`,
		`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":[}`, `{"a":{]}`, `{"a":{"b"}}`, `{"a":{"b":}}`, `{"a":{1:2}}`,
		`{"a":[1}`, `{"a":{"b":1]}`, `{"a"` + "\u00a0" + `:1}`, `{"a":1` + "\u00a0" + `}`, "{\"a\":1\v}",
		`{"workerId":5,"team":}`, `{"workerId":5,` + loc + `,}`, `{"location":"x","a":[}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2,}}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1 "longitude":2}}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":01,"longitude":2}}`,
		`{"workerId":"w1","team":"t1","location":{latitude:1}}`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2}]`,
		`{"workerId":"w1","team":"t1","location":{"latitude":1,"longitude":2},"timeStamp":"x`,
		`{"workerId":"w1` + "\x00" + `"}`,
	}
	return in
}

func TestDecodePositionMatchesReference(t *testing.T) {
	for _, in := range decodeEquivalenceInputs() {
		t.Run(in[:min(len(in), 80)], func(t *testing.T) { checkDecodeAgainstReference(t, []byte(in)) })
	}
}

func FuzzDecodePosition(f *testing.F) {
	for _, in := range decodeEquivalenceInputs() {
		if len(in) <= 4096 { // the 10000-deep nests are for the table: they slow fuzzing down
			f.Add([]byte(in))
		}
	}
	f.Add([]byte(`{"a":` + strings.Repeat(`[{"b":`, 50) + `1` + strings.Repeat(`}]`, 50) + `,"workerId":"w","team":"t","location":{"latitude":1,"longitude":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeAgainstReference(t, data)
	})
}

// checkDecodeAgainstReference asserts that DecodePosition and decodeReference
// agree on data: the same tracking.Position (also when they fail: the fields decoded
// before the failing one), the same error Code and Field, and for field errors
// the same Message. An id assigned at random is compared for its form only.
// A decoded position must survive AppendJSON and decoding again.
func checkDecodeAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	orig := bytes.Clone(data)
	got, gotErr := DecodePosition(data, decodeNow)
	got2, _ := DecodePosition(data, decodeNow)
	want, wantErr := decodeReference(data, decodeNow)
	want2, _ := decodeReference(data, decodeNow)
	if !bytes.Equal(data, orig) {
		t.Fatalf("DecodePosition modified its input")
	}
	checkSameError(t, data, gotErr, wantErr)
	if wantRandom := want.ID != want2.ID; wantRandom {
		if got.ID == got2.ID || !isUUID(got.ID) {
			t.Fatalf("input %s: reference assigned a random id (%s), DecodePosition gave %q", show(data), want.ID, got.ID)
		}
		want.ID = got.ID
	}
	if d := diffPositions(got, want); d != "" {
		t.Fatalf("input %s: positions differ (error %v): %s", show(data), wantErr, d)
	}
	if gotErr != nil {
		return
	}

	// The canonical form decodes again to the same position (timestamps are
	// written to the millisecond).
	canon := AppendPosition(nil, &got)
	if ref := refAppendJSON(&got, nil); !bytes.Equal(canon, ref) {
		t.Fatalf("input %s: AppendJSON wrote\n%s\nbefore it wrote\n%s", show(data), canon, ref)
	}
	again, err := DecodePosition(canon, decodeNow)
	if err != nil {
		t.Fatalf("input %s: canonical form %s does not decode: %v", show(data), canon, err)
	}
	got.TimeStamp = got.TimeStamp.Truncate(time.Millisecond)
	if d := diffPositions(again, got); d != "" {
		t.Fatalf("input %s: canonical form %s decodes differently: %s", show(data), canon, d)
	}
	if refAgain, err := decodeReference(canon, decodeNow); err != nil || diffPositions(refAgain, again) != "" {
		t.Fatalf("input %s: reference disagrees on the canonical form %s: %v", show(data), canon, err)
	}
	if m := NewMessage(&got, decodeNow); !bytes.Equal(m.JSON, canon) || m.Team != got.Team || m.Worker != got.WorkerID {
		t.Fatalf("Message %+v does not carry %s", m, canon)
	}
}

func checkSameError(t *testing.T, data []byte, gotErr, wantErr error) {
	t.Helper()
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("input %s: got error %v, reference error %v", show(data), gotErr, wantErr)
	}
	if gotErr == nil {
		return
	}
	got, ok1 := gotErr.(*tracking.Error)
	want, ok2 := wantErr.(*tracking.Error)
	if !ok1 || !ok2 {
		t.Fatalf("input %s: errors %T %v / %T %v are not both *tracking.Error", show(data), gotErr, gotErr, wantErr, wantErr)
	}
	if got.Code != want.Code || got.Field != want.Field {
		t.Fatalf("input %s:\n got %s (field %q)\nwant %s (field %q)", show(data), got, got.Field, want, want.Field)
	}
	switch {
	case want.Code == tracking.CodeInvalidField, !strings.HasPrefix(want.Message, "malformed JSON: "):
		if got.Message != want.Message {
			t.Fatalf("input %s: message\n got %q\nwant %q", show(data), got.Message, want.Message)
		}
	case !strings.HasPrefix(got.Message, "malformed JSON: "):
		t.Fatalf("input %s: message %q, want one about malformed JSON (%s)", show(data), got.Message, want.Message)
	}
}

func diffPositions(a, b tracking.Position) string {
	var d []string
	for _, f := range [][3]string{{"ID", a.ID, b.ID}, {"WorkerID", a.WorkerID, b.WorkerID}, {"Team", a.Team, b.Team}} {
		if f[1] != f[2] {
			d = append(d, f[0]+" "+f[1]+" / "+f[2])
		}
	}
	if !sameFloat(a.Location.Latitude, b.Location.Latitude) || !sameFloat(a.Location.Longitude, b.Location.Longitude) {
		d = append(d, "Location")
	}
	if a.TimeStamp != b.TimeStamp {
		d = append(d, "TimeStamp "+a.TimeStamp.String()+" / "+b.TimeStamp.String())
	}
	for _, f := range []struct {
		name string
		a, b *float64
	}{{"Accuracy", a.Accuracy, b.Accuracy}, {"Speed", a.Speed, b.Speed}, {"Heading", a.Heading, b.Heading}, {"Battery", a.Battery, b.Battery}} {
		if (f.a == nil) != (f.b == nil) || f.a != nil && !sameFloat(*f.a, *f.b) {
			d = append(d, f.name)
		}
	}
	return strings.Join(d, "; ")
}

// show quotes data for a failure message, clipped.
func show(data []byte) string {
	if len(data) > 300 {
		return strconv.Quote(string(data[:150])) + "..." + strconv.Quote(string(data[len(data)-150:]))
	}
	return strconv.Quote(string(data))
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

var isUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString

// The four optional numbers share one allocation; the ids another; the
// Message JSON a third. Nothing else allocates on the common path.
func TestDecodePositionAllocations(t *testing.T) {
	rec := []byte(`{"id":"9b2f3c1e-8a4b-4c2d-9e0f-123456789abc","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","accuracy":3,"speed":1.4,"heading":270,"battery":87.5,"extra":{"a":[1,"b"]}}`)
	legacy := []byte(`{"id":"x1","workerId":"w-17","team":"team_one","location":{"latitude":"-23.55052","longitude":"-46.633308"},"timeStamp":"22/11/2026 13:21:04"}`)
	for _, c := range []struct {
		in   []byte
		want float64
	}{{rec, 2}, {legacy, 1}} {
		var p tracking.Position
		n := testing.AllocsPerRun(100, func() {
			var err error
			if p, err = DecodePosition(c.in, decodeNow); err != nil {
				t.Fatal(err)
			}
		})
		if n > c.want {
			t.Errorf("%s: %v allocations, want %v", c.in, n, c.want)
		}
		if n := testing.AllocsPerRun(100, func() { _ = NewMessage(&p, decodeNow) }); n > 1 {
			t.Errorf("Message: %v allocations, want 1", n)
		}
	}
}

// AppendJSON (and so Message) writes exactly what it wrote before its fast
// paths, for any tracking.Position, valid or not.
func TestAppendJSONMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []string{"", "9b2f", "a\"b", `a\b`, "é", "\x7f", "\x00", "~ ", "\xff", "tab\t", "😀", strings.Repeat("x", 200)}
	times := []time.Time{
		{}, decodeNow, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 22, 13, 21, 4, 123456789, time.FixedZone("x", -3*3600)), time.Unix(1<<40, 5), time.Unix(-1<<40, 5),
	}
	for i := 0; i < 20000; i++ {
		p := tracking.Position{ID: ids[rng.IntN(len(ids))], WorkerID: "w", Team: "t"}
		if i < len(times) {
			p.TimeStamp = times[i]
		} else {
			p.TimeStamp = time.Unix(rng.Int64N(1<<38)-1<<37, rng.Int64N(2e9)-1e9)
		}
		p.Location = tracking.Location{Latitude: rng.NormFloat64() * 90, Longitude: rng.Float64()}
		if rng.IntN(2) == 0 {
			v := rng.ExpFloat64()
			p.Speed = &v
		}
		if rng.IntN(2) == 0 {
			v := []float64{0, 100, 1e-7, 99.99999999999999}[rng.IntN(4)]
			if rng.IntN(2) == 0 {
				v = rng.Float64() * 100
			}
			p.Battery = &v
		}
		if got, want := AppendPosition(nil, &p), refAppendJSON(&p, nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON(%+v):\n got %s\nwant %s", p, got, want)
		}
		if m := NewMessage(&p, decodeNow); !bytes.Equal(m.JSON, refAppendJSON(&p, nil)) || cap(m.JSON) != len(m.JSON) {
			t.Fatalf("Message JSON %s (cap %d)", m.JSON, cap(m.JSON))
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("9b2f", int64(1795000000), int64(123456789), 1.5)
	f.Add("a\"b\x7f", int64(-62135596800), int64(0), math.Copysign(0, -1))
	f.Add("é", int64(253402300800), int64(999999999), 1e-300)
	f.Fuzz(func(t *testing.T, id string, sec, nsec int64, lat float64) {
		p := tracking.Position{ID: id, TimeStamp: time.Unix(sec, nsec), Location: tracking.Location{Latitude: lat}}
		if got, want := AppendPosition(nil, &p), refAppendJSON(&p, nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON(%+v):\n got %s\nwant %s", p, got, want)
		}
	})
}
