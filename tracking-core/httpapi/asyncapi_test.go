package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/apispec"
	"github.com/teamtrack/tracking-core/client"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// Every example of asyncapi.yaml matches its payload schema and is what the
// wire package reads (the service's decoders for what clients send, the
// clients' for what the service sends) or writes (the encoders of the
// records: the example is the bytes the service would send).
func TestAsyncAPIExamplesDecode(t *testing.T) {
	docs := loadDocs(t)
	msgs, err := docs.Messages()
	must(t, err)
	checked := 0
	for _, m := range msgs {
		if len(m.Examples) == 0 {
			t.Errorf("%s/%s: no example", m.Channel, m.Key)
		}
		for i, ex := range m.Examples {
			where := fmt.Sprintf("%s/%s example %d", m.Channel, m.Key, i)
			if err := docs.ValidateValue(m.Payload, ex); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			raw := apispec.JSON(ex)
			var err error
			switch {
			case m.Action == "receive":
				err = decodeFromClient(m.Key, raw)
			case m.Transport == "websocket":
				err = decodeWebSocketFrame(raw)
			case m.Transport == "sse":
				err = decodeSSEEvent(m.SSEEvent, raw)
			default:
				err = fmt.Errorf("x-transport %q, action %q", m.Transport, m.Action)
			}
			if err != nil {
				t.Errorf("%s %s: %v", where, raw, err)
			}
			checked++
		}
	}
	if checked < 25 {
		t.Errorf("only %d examples checked", checked)
	}
}

// decodeFromClient decodes what a worker sends, as the service does.
func decodeFromClient(key string, raw []byte) error {
	switch key {
	case "record":
		_, err := wire.DecodePosition(raw, time.Now())
		return err
	case "records":
		recs, err := wire.AppendArrayElements(nil, raw)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := wire.DecodePosition(r, time.Now()); err != nil {
				return err
			}
		}
		return nil
	case wire.TypeAck, wire.TypeRead:
		r, ok := wire.DecodeWorkerReply(raw)
		if !ok || r.Type != key {
			return fmt.Errorf("DecodeWorkerReply = %+v, %v", r, ok)
		}
		return nil
	}
	return fmt.Errorf("no decoder for the client message %q", key)
}

// decodeWebSocketFrame decodes a frame of the service as a client does,
// and checks the records it carries.
func decodeWebSocketFrame(raw []byte) error {
	var m wire.ServerMessage
	if err := wire.DecodeServerMessage(&m, raw); err != nil {
		return err
	}
	var typ struct{ Type string }
	_ = json.Unmarshal(raw, &typ)
	if m.Type != typ.Type {
		return fmt.Errorf("decoded as type %q, want %q", m.Type, typ.Type)
	}
	switch m.Type {
	case wire.TypePositions:
		for _, p := range m.Positions {
			if err := checkRecord("position", p); err != nil {
				return err
			}
		}
	case wire.TypeStatus, wire.TypeAlert, wire.TypeDelivery:
		return checkRecord(m.Type, m.Event)
	case wire.TypeMessage:
		if m.SentAt.IsZero() || m.ExpiresAt.IsZero() || !json.Valid(m.Body) {
			return fmt.Errorf("message decoded as %+v", m)
		}
		if got := wire.AppendDispatch(nil, m.ID, m.Body, m.SentAt, m.ExpiresAt); !sameJSON(got, raw) {
			return fmt.Errorf("the service would write it as %s", got)
		}
	case wire.TypeReconnect, wire.TypeReset:
		if m.Reason == "" {
			return fmt.Errorf("no reason decoded")
		}
	}
	return nil
}

// decodeSSEEvent frames the example as the service does and reads it back
// with the clients' SSE reader.
func decodeSSEEvent(event string, data []byte) error {
	var frame bytes.Buffer
	if event != "" {
		fmt.Fprintf(&frame, "event: %s\n", event)
	}
	fmt.Fprintf(&frame, "id: 1-0\ndata: %s\n\n", data)
	b, err := wire.NewSSEReader(&frame).Next()
	if err != nil {
		return err
	}
	if b.Event != event || !bytes.Equal(b.Data, data) {
		return fmt.Errorf("read back as event %q data %s", b.Event, b.Data)
	}
	switch event {
	case "":
		return checkRecord("position", b.Data)
	case wire.SSEStatusEvent, wire.SSEAlertEvent, wire.SSEDeliveryEvent:
		return checkRecord(event, b.Data)
	case wire.SSEReconnectEvent:
		if reason, ok := b.Reconnect(); !ok || reason == "unspecified" {
			return fmt.Errorf("Reconnect() = %q, %v", reason, ok)
		}
	case wire.SSEEndEvent:
		var end wire.ReplayEnd
		dec := json.NewDecoder(bytes.NewReader(b.Data))
		dec.DisallowUnknownFields()
		return dec.Decode(&end)
	case wire.SSEResetEvent:
	default:
		return fmt.Errorf("x-sse-event %q is not an event of the service", event)
	}
	return nil
}

// checkRecord checks that rec is what the service's encoder writes for the
// same values: a record in its canonical form.
func checkRecord(kind string, rec []byte) error {
	var got []byte
	switch kind {
	case "position":
		p, err := wire.DecodePosition(rec, time.Now())
		if err != nil {
			return err
		}
		p.Late = bytes.Contains(rec, []byte(`"late":true`))
		got = wire.AppendPosition(nil, &p)
	case wire.TypeStatus:
		var s struct {
			WorkerID, Team, Status, Reason string
			Since                          time.Time
		}
		if err := json.Unmarshal(rec, &s); err != nil {
			return err
		}
		got = wire.NewStatusMessage(wire.StatusChange{Team: s.Team, Worker: s.WorkerID, Status: s.Status, Reason: s.Reason, Since: s.Since}).JSON
	case wire.TypeDelivery:
		var d struct {
			MessageID, WorkerID, Team, State string
			At                               time.Time
		}
		if err := json.Unmarshal(rec, &d); err != nil {
			return err
		}
		got = wire.NewDeliveryMessage(wire.Delivery{Team: d.Team, Worker: d.WorkerID, MessageID: d.MessageID, State: d.State, At: d.At}, d.At).JSON
	case wire.TypeAlert:
		var a struct {
			ID, Kind, Team, WorkerID, FenceID, RuleID, PeerID, Name string
			Location                                                struct{ Latitude, Longitude float64 }
			TimeStamp                                               time.Time
		}
		if err := json.Unmarshal(rec, &a); err != nil {
			return err
		}
		ev := geofence.Event{ID: a.ID, Kind: geofence.Kind(a.Kind), Team: a.Team, Worker: a.WorkerID, FenceID: a.FenceID,
			RuleID: a.RuleID, Peer: a.PeerID, Name: a.Name, Lat: a.Location.Latitude, Lon: a.Location.Longitude, Time: a.TimeStamp}
		got = ev.AppendJSON(nil)
	default:
		return fmt.Errorf("no encoder for a %s record", kind)
	}
	if !sameJSON(got, rec) {
		return fmt.Errorf("the service writes these values as %s", got)
	}
	return nil
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// The records a worker may send (asyncapi.yaml's record and records
// examples), sent over a real worker WebSocket with the Go client, reach a
// manager watching the team, also with the Go client.
func TestAsyncAPIRecordExamplesReachManagers(t *testing.T) {
	docs := loadDocs(t)
	msgs, err := docs.Messages()
	must(t, err)
	var records [][]byte
	want := 0
	for _, m := range msgs {
		if m.Channel != "workerWebSocket" || (m.Key != "record" && m.Key != "records") {
			continue
		}
		for _, ex := range m.Examples {
			records = append(records, apispec.JSON(ex))
			if arr, ok := ex.([]any); ok {
				want += len(arr)
			} else {
				want++
			}
		}
	}
	if want < 3 {
		t.Fatalf("only %d records in the examples", want)
	}
	r := servicetest.StartReplica(t, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{RecordsPerSecond: -1})
	api := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	live := make(chan struct{})
	var got []string
	done := make(chan error, 1)
	go func() {
		started := false
		done <- client.Watch(ctx, api, "team_one", client.WatchOptions{Transport: client.WebSocket}, func(ev *apiclient.Event) error {
			if !started && ev.ID != "" {
				started = true
				close(live)
			}
			for _, p := range ev.Positions {
				got = append(got, string(p))
			}
			if len(got) == want {
				return client.ErrStop
			}
			return nil
		})
	}()
	select {
	case <-live:
	case err := <-done:
		t.Fatalf("watch: %v", err)
	}
	var refused []string
	w, err := client.DialWorker(ctx, api, client.WorkerOptions{OnError: func(e wire.ErrorBody) { refused = append(refused, e.Error()) }})
	must(t, err)
	defer w.Close()
	for _, rec := range records {
		must(t, w.SendRaw(ctx, rec))
	}
	if err := <-done; err != nil {
		t.Fatalf("watch: %v (refused: %v)", err, refused)
	}
	for _, id := range []string{`"id":"spec-ws-1"`} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, id) }) {
			t.Errorf("no record with %s among %v", id, got)
		}
	}
}

// The record examples of openapi.yaml's schemas are what the service's
// encoders write (the output records) or what its decoder reads (the input).
func TestOpenAPIRecordExamples(t *testing.T) {
	docs := loadDocs(t)
	kinds := map[string]string{"Position": "position", "StatusRecord": wire.TypeStatus,
		"DeliveryRecord": wire.TypeDelivery, "AlertEvent": wire.TypeAlert}
	n := 0
	for _, ex := range docs.SchemaExamples() {
		raw := apispec.JSON(ex.Value)
		if err := docs.ValidateValue(apispec.OpenAPIFile+"#/components/schemas/"+ex.Name, ex.Value); err != nil {
			t.Errorf("%s example %s: %v", ex.Name, raw, err)
		}
		var err error
		switch kind, ok := kinds[ex.Name]; {
		case ok:
			err = checkRecord(kind, raw)
		case ex.Name == "PositionInput":
			_, err = wire.DecodePosition(raw, time.Now())
		case ex.Name == "IngestSummary":
			_, err = wire.DecodeIngestAnswer(raw)
		default:
			continue
		}
		n++
		if err != nil {
			t.Errorf("%s example %s: %v", ex.Name, raw, err)
		}
	}
	if n < 8 {
		t.Errorf("only %d record examples checked", n)
	}
}
