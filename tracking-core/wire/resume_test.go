package wire_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func withOffsets(batch []tracking.Message, seq ...uint64) []tracking.Message {
	for i := range batch {
		batch[i].Offset = tracking.Offset{Epoch: 7, Seq: seq[i], Index: uint64(i)}
	}
	return batch
}

// The id of a positions message is the last offset of its batch; a mark
// (no JSON) adds its offset and no record.
func TestPositionsCarryTheStreamID(t *testing.T) {
	batch := withOffsets(batchOf(rec1, rec2), 10, 11)
	mark := tracking.Message{Offset: tracking.Offset{Epoch: 7, Seq: 12}}
	for _, c := range []struct {
		batch  []tracking.Message
		wantID string
		recs   []string
	}{
		{batch, batch[1].Offset.String(), []string{rec1, rec2}},
		{append(batchOf(rec1), mark), mark.Offset.String(), []string{rec1}},
		{[]tracking.Message{mark}, mark.Offset.String(), nil},
		{batchOf(rec2), "", []string{rec2}},
	} {
		msg := wire.AppendPositions(nil, c.batch)
		if !json.Valid(msg) {
			t.Fatalf("invalid JSON %s", msg)
		}
		var m wire.ServerMessage
		if err := wire.DecodeServerMessage(&m, msg); err != nil {
			t.Fatal(err)
		}
		if m.Type != wire.TypePositions || m.ID != c.wantID || fmt.Sprintf("%q", m.Positions) != fmt.Sprintf("%q", c.recs) {
			t.Fatalf("%s: decoded %s id %q %q, want id %q %q", msg, m.Type, m.ID, m.Positions, c.wantID, c.recs)
		}
		off, err := tracking.ParseOffset(m.ID)
		if c.wantID != "" && (err != nil || off.String() != c.wantID) {
			t.Fatalf("id %q does not parse back: %v %v", m.ID, off, err)
		}
	}
}

func TestResetAndErrorIDs(t *testing.T) {
	var m wire.ServerMessage
	if err := wire.DecodeServerMessage(&m, wire.AppendReset(nil, wire.ResetGap)); err != nil || m.Type != wire.TypeReset || m.Reason != wire.ResetGap {
		t.Fatalf("%+v %v", m, err)
	}
	err := wire.DecodeServerMessage(&m, wire.AppendError(nil, wire.ErrorBody{Code: "invalid_field", Message: "x", ID: "rec-1"}))
	if err != nil || m.Type != wire.TypeError || m.Error.ID != "rec-1" || m.ID != "" {
		t.Fatalf("an error's id is the record's: %+v %v", m, err)
	}
}

func TestSSEIDs(t *testing.T) {
	batch := withOffsets(batchOf(rec1, rec2), 3, 4)
	batch = append(batch, tracking.Message{Offset: tracking.Offset{Epoch: 7, Seq: 5}}, tracking.Message{})
	b := wire.AppendSSEReset(nil, wire.ResetGap)
	b = wire.AppendSSEPositions(b, batch)
	r := wire.NewSSEReader(strings.NewReader(string(b)))
	blk, err := r.Next()
	if err != nil || blk.Event != wire.SSEResetEvent || !strings.Contains(string(blk.Data), wire.ResetGap) {
		t.Fatalf("reset block %+v %v", blk, err)
	}
	for i, want := range []string{rec1, rec2, ""} {
		blk, err = r.Next()
		if err != nil || blk.ID != batch[i].Offset.String() || string(blk.Data) != want || blk.HasData != (want != "") {
			t.Fatalf("block %d = %+v %v, want id %s data %q", i, blk, err, batch[i].Offset, want)
		}
	}
	if blk, err = r.Next(); err == nil {
		t.Fatalf("a message with neither JSON nor offset wrote a block: %+v", blk)
	}
}

func TestOffsetText(t *testing.T) {
	for _, o := range []tracking.Offset{{Epoch: 1}, {Epoch: ^uint64(0), Seq: ^uint64(0), Index: ^uint64(0)}, {Epoch: 42, Seq: 1_700_000_000_000, Index: 3 << 20}} {
		got, err := tracking.ParseOffset(o.String())
		if err != nil || got != o {
			t.Fatalf("ParseOffset(%q) = %v %v, want %v", o.String(), got, err, o)
		}
	}
	for _, bad := range []string{"", "0-0-0", "1-2", "1-2-3-4", "x-y-!", "1--2", "zzzzzzzzzzzzzzzzzzzz-1-1"} {
		if o, err := tracking.ParseOffset(bad); err == nil {
			t.Errorf("ParseOffset(%q) = %v, want an error", bad, o)
		}
	}
}

func TestReplayEndNotice(t *testing.T) {
	var m wire.ServerMessage
	for _, e := range []wire.ReplayEnd{{Positions: 600}, {Positions: 3, Error: `history "down"`}} {
		if err := wire.DecodeServerMessage(&m, wire.AppendEnd(nil, e)); err != nil || m.Type != wire.TypeEnd || m.End != e {
			t.Fatalf("%+v: decoded %+v %v", e, m, err)
		}
		r := wire.NewSSEReader(strings.NewReader(string(wire.AppendSSEEnd(nil, e))))
		blk, err := r.Next()
		var got wire.ReplayEnd
		if err != nil || blk.Event != wire.SSEEndEvent || json.Unmarshal(blk.Data, &got) != nil || got != e {
			t.Fatalf("%+v: SSE block %+v %v", e, blk, err)
		}
	}
}
