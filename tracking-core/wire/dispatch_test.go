package wire

import (
	"encoding/json"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

func TestDispatchFramesDecode(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 123e6, time.UTC)
	frame := AppendDispatch(nil, `m_"1`, []byte(`{"text":"hi"}`), at, at.Add(time.Minute))
	want := `{"type":"message","id":"m_\"1","body":{"text":"hi"},"sentAt":"2026-12-02T10:00:00.123Z","expiresAt":"2026-12-02T10:01:00.123Z"}`
	if string(frame) != want {
		t.Fatalf("AppendDispatch:\n%s\nwant\n%s", frame, want)
	}
	var m ServerMessage
	if err := DecodeServerMessage(&m, frame); err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeMessage || m.ID != `m_"1` || string(m.Body) != `{"text":"hi"}` {
		t.Fatalf("decoded %+v", m)
	}
	if err := DecodeServerMessage(&m, AppendConfig(nil, 90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeConfig || m.Interval != "1m30s" {
		t.Fatalf("config decoded %+v", m)
	}
}

func TestFormatInterval(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1s", 30 * time.Second: "30s", time.Minute: "1m", 2 * time.Hour: "2h",
		500 * time.Millisecond: "500ms", 90 * time.Second: "1m30s", time.Hour + time.Minute: "1h1m",
	} {
		got := FormatInterval(d)
		if got != want {
			t.Errorf("FormatInterval(%s) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("%q parses back as %s, %v", got, back, err)
		}
	}
}

func TestDecodeWorkerReply(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want WorkerReply
	}{
		{string(AppendWorkerReply(nil, TypeAck, "m_1")), true, WorkerReply{Type: "ack", ID: "m_1"}},
		{`{"id":"m_2","type":"read","workerId":"w1","team":"t"}`, true, WorkerReply{Type: "read", ID: "m_2", WorkerID: "w1", Team: "t"}},
		{`{"type":"ack"}`, true, WorkerReply{Type: "ack"}},
		{`{"workerId":"w1","team":"t","location":{"latitude":1,"longitude":2}}`, false, WorkerReply{}},
		{`[{"type":"ack","id":"m_1"}]`, false, WorkerReply{}},
		{`{"type":"ack",`, false, WorkerReply{}},
		{`{"type":""}`, false, WorkerReply{}},
	} {
		got, ok := DecodeWorkerReply([]byte(c.in))
		if ok != c.ok || got != c.want {
			t.Errorf("DecodeWorkerReply(%s) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestDeliveryMessage(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 5e6, time.UTC)
	m := NewDeliveryMessage(Delivery{Team: "t1", Worker: "w-1", MessageID: "m_1", State: "acked", At: at}, at.Add(time.Second))
	if m.Kind != tracking.KindDelivery || m.Worker != "w-1" || m.Time != at.UnixNano() {
		t.Fatalf("message %+v", m)
	}
	want := `{"messageId":"m_1","workerId":"w-1","team":"t1","state":"acked","at":"2026-12-02T10:00:00.005Z"}`
	if string(m.JSON) != want {
		t.Fatalf("JSON %s\nwant %s", m.JSON, want)
	}
	if !json.Valid(m.JSON) {
		t.Fatal("invalid JSON")
	}
	var sm ServerMessage
	if err := DecodeServerMessage(&sm, AppendEvent(nil, m)); err != nil || sm.Type != TypeDelivery || string(sm.Event) != want {
		t.Fatalf("event decoded %+v, %v", sm, err)
	}
	sse := string(AppendSSEPositions(nil, []tracking.Message{m}))
	if sse != "event: delivery\ndata: "+want+"\n\n" {
		t.Fatalf("SSE %q", sse)
	}
}
