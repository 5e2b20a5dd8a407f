package wire_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func batchOf(records ...string) []tracking.Message {
	out := make([]tracking.Message, len(records))
	for i, r := range records {
		out[i] = tracking.Message{JSON: []byte(r)}
	}
	return out
}

const (
	rec1 = `{"id":"a","workerId":"w1","team":"t","location":{"latitude":1,"longitude":2},"timeStamp":"2026-11-22T13:21:04.123Z"}`
	rec2 = `{"id":"b\"}]","workerId":"w2","team":"t","location":{"latitude":-1,"longitude":-2},"timeStamp":"2026-11-22T13:21:04.123Z"}`
)

func TestPositionsRoundTrip(t *testing.T) {
	for _, recs := range [][]string{{}, {rec1}, {rec1, rec2, rec1}} {
		msg := wire.AppendPositions(nil, batchOf(recs...))
		if !json.Valid(msg) {
			t.Fatalf("invalid JSON %s", msg)
		}
		var m wire.ServerMessage
		if err := wire.DecodeServerMessage(&m, msg); err != nil {
			t.Fatal(err)
		}
		if m.Type != wire.TypePositions || fmt.Sprintf("%q", m.Positions) != fmt.Sprintf("%q", recs) {
			t.Fatalf("%s: decoded %s %q, want %q", msg, m.Type, m.Positions, recs)
		}
	}
}

func TestDecodeServerMessageOtherForms(t *testing.T) {
	var m wire.ServerMessage
	// Not the server's own layout: decoded with encoding/json.
	in := `{ "positions" : [` + rec1 + `], "type":"positions" }`
	if err := wire.DecodeServerMessage(&m, []byte(in)); err != nil || m.Type != wire.TypePositions || len(m.Positions) != 1 || string(m.Positions[0]) != rec1 {
		t.Fatalf("%+v %v", m, err)
	}
	if err := wire.DecodeServerMessage(&m, wire.AppendReconnect(nil, wire.ReasonSlow)); err != nil || m.Type != wire.TypeReconnect || m.Reason != "slow" || len(m.Positions) != 0 {
		t.Fatalf("%+v %v", m, err)
	}
	e := wire.NewErrorBody(tracking.Errorf(tracking.CodeInvalidField, "location.latitude: must be \"finite\""))
	e.ID = "x1"
	msg := wire.AppendError(nil, e)
	if !strings.HasPrefix(string(msg), `{"type":"error","code":"invalid_field"`) {
		t.Fatalf("error message %s", msg)
	}
	if err := wire.DecodeServerMessage(&m, msg); err != nil || m.Type != wire.TypeError || m.Error.Code != "invalid_field" || m.Error.ID != "x1" || m.Error.Message != e.Message {
		t.Fatalf("%+v %v", m, err)
	}
	if err := wire.DecodeServerMessage(&m, []byte(`{"type":"positions","positions":[{"a":1},]}`)); err == nil {
		t.Fatalf("malformed positions message decoded: %+v", m)
	}
}

func TestSplitArray(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, nil, true},
		{` [ ] `, nil, true},
		{`[{"a":"]"},{"b":[1,{"c":2}]}]`, []string{`{"a":"]"}`, `{"b":[1,{"c":2}]}`}, true},
		{"[ 1 , \"x\\\"\" ,null,[2]\n]", []string{`1`, `"x\""`, `null`, `[2]`}, true},
		{`[{"a":1}`, nil, false},
		{`[{"a":1},]`, nil, false},
		{`[{"a":1}{"b":2}]`, nil, false},
		{`[{"a":1}] x`, nil, false},
		{`{"a":1}`, nil, false},
		{``, nil, false},
	}
	for _, c := range cases {
		got, err := wire.AppendArrayElements(nil, []byte(c.in))
		if (err == nil) != c.ok || c.ok && fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestIngestAnswerRoundTrip(t *testing.T) {
	in := wire.IngestAnswer{Accepted: 3, Rejected: 1, Errors: []wire.ErrorBody{{Code: "invalid_json", Message: "bad", Record: 2}}, Reconnect: true, Reason: wire.ReasonShutdown}
	b, _ := json.Marshal(in)
	if string(b) != `{"accepted":3,"rejected":1,"errors":[{"code":"invalid_json","message":"bad","record":2}],"reconnect":true,"reason":"shutdown"}` {
		t.Fatalf("encoded %s", b)
	}
	out, err := wire.DecodeIngestAnswer(b)
	if err != nil || out.Accepted != 3 || out.Rejected != 1 || len(out.Errors) != 1 || out.Errors[0] != in.Errors[0] || !out.Reconnect || out.Reason != "shutdown" {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestEncodersDoNotAllocate(t *testing.T) {
	batch := batchOf(rec1, rec2, rec1)
	buf := make([]byte, 0, 4096)
	var m wire.ServerMessage
	allocs := testing.AllocsPerRun(100, func() {
		buf = wire.AppendSSEPositions(buf[:0], batch)
		buf = wire.AppendSSEHeartbeat(buf[:0])
		buf = wire.AppendSSEReconnect(buf[:0], wire.ReasonLifetime)
		buf = wire.AppendReconnect(buf[:0], wire.ReasonLifetime)
		buf = wire.AppendPositions(buf[:0], batch)
		_ = wire.DecodeServerMessage(&m, buf)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
