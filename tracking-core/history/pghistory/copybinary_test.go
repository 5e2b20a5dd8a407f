package pghistory

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
)

// TestCopyBinaryMatchesPgx: the hand-written COPY stream holds, field by
// field, what pgx's own binary encoders make of the same values.
func TestCopyBinaryMatchesPgx(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	recs := []history.Record{
		{Position: tracking.Position{ID: "p-1", WorkerID: "w-1", Team: "team_one",
			Location:  tracking.Location{Latitude: -90, Longitude: 179.99999999999997},
			TimeStamp: time.Date(2026, 3, 14, 9, 26, 53, 589793999, time.FixedZone("BRT", -3*3600)),
			Accuracy:  f(4.5), Speed: f(0), Heading: f(359.999), Battery: f(87.5)},
			Received: time.Date(2026, 3, 14, 12, 26, 54, 1001, time.UTC)},
		{Position: tracking.Position{ID: "a-very-long-id-" + string(make([]byte, 100)), WorkerID: "w", Team: "t",
			TimeStamp: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC)}, // before PostgreSQL's epoch
			Received: time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC)},
	}
	m := pgtype.NewMap()
	want := []byte(copyHeader)
	for _, r := range recs {
		p := r.Position
		want = binary.BigEndian.AppendUint16(want, uint16(len(columns)))
		for i, v := range []any{p.Team, p.WorkerID, p.ID, p.TimeStamp.Truncate(time.Microsecond), r.Received.Truncate(time.Microsecond),
			p.Location.Latitude, p.Location.Longitude, p.Accuracy, p.Speed, p.Heading, p.Battery} {
			oid := []uint32{pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID,
				pgtype.Float8OID, pgtype.Float8OID, pgtype.Float8OID, pgtype.Float8OID, pgtype.Float8OID, pgtype.Float8OID}[i]
			val, err := m.Encode(oid, pgtype.BinaryFormatCode, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if val == nil {
				want = binary.BigEndian.AppendUint32(want, 0xffffffff)
				continue
			}
			want = binary.BigEndian.AppendUint32(want, uint32(len(val)))
			want = append(want, val...)
		}
	}
	want = binary.BigEndian.AppendUint16(want, 0xffff)
	if got := appendCopyBinary(nil, recs); string(got) != string(want) {
		t.Fatalf("COPY stream differs from pgx's encoding:\n got %x\nwant %x", got, want)
	}
}

func BenchmarkCopyBinary(b *testing.B) {
	recs := make([]history.Record, 1000)
	at := time.Now()
	for i := range recs {
		recs[i] = history.Record{Position: tracking.Position{ID: tracking.NewID(), WorkerID: "w-0001", Team: "team_001",
			Location: tracking.Location{Latitude: -23.5, Longitude: -46.6}, TimeStamp: at}, Received: at}
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = appendCopyBinary(buf[:0], recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
