package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/dispatch"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const team = "team_d"

// setup starts n replicas' Dispatchers over one memory backend and store.
func setup(t *testing.T, n int, cfg dispatch.Config) ([]*dispatch.Dispatcher, []*memory.Broadcaster) {
	t.Helper()
	store, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	be := memory.NewBackend()
	var ds []*dispatch.Dispatcher
	var bs []*memory.Broadcaster
	for range n {
		b := memory.New(be, memory.Config{})
		c := cfg
		c.Store, c.Mailbox, c.Publish, c.Last = store, b, b.Publish, b.Last
		d, err := dispatch.New(c)
		if err != nil {
			t.Fatal(err)
		}
		ds, bs = append(ds, d), append(bs, b)
	}
	t.Cleanup(func() {
		for i := range ds {
			ds[i].Close()
			_ = bs[i].Close()
		}
		_ = store.Close()
	})
	return ds, bs
}

// conn is a worker connection: the frames its inbox wrote.
type conn struct {
	mu     sync.Mutex
	frames []wire.ServerMessage
	fail   bool
}

func (c *conn) send(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("connection gone")
	}
	var m wire.ServerMessage
	if err := wire.DecodeServerMessage(&m, slices.Clone(frame)); err != nil {
		return err
	}
	c.frames = append(c.frames, m)
	return nil
}

func (c *conn) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.frames {
		out = append(out, f.ID)
	}
	return out
}

func (c *conn) waitIDs(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(c.ids(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("frames %v, want %v", c.ids(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliveries are the delivery events of a collector as "worker:state".
func deliveries(c *broadcasttest.Collector) []string {
	var out []string
	for _, m := range c.Messages() {
		if m.Kind != tracking.KindDelivery {
			continue
		}
		var d struct{ WorkerID, State string }
		_ = json.Unmarshal(m.JSON, &d)
		out = append(out, d.WorkerID+":"+d.State)
	}
	return out
}

func waitEvents(t *testing.T, c *broadcasttest.Collector, want ...string) {
	t.Helper()
	if !c.WaitFor(5*time.Second, func([]tracking.Message) bool { return slices.Equal(deliveries(c), want) }) {
		t.Fatalf("delivery events %v, want %v", deliveries(c), want)
	}
}

// A message sent through replica B reaches the worker's inbox on A,
// is delivered and acked, each state an event; a worker that connects
// later gets it from the store; Get has every state.
func TestSendDeliverAck(t *testing.T) {
	ds, bs := setup(t, 2, dispatch.Config{})
	events, _ := broadcasttest.Subscribe(t, t.Context(), bs[1], team)
	var w1 conn
	in1 := ds[0].Open(team, "w1", w1.send)
	defer in1.Close()
	time.Sleep(50 * time.Millisecond) // the inbox listens (Open does not wait)

	res, err := ds[1].Send(context.Background(), dispatch.Request{Team: team, Sender: "boss", To: []string{"w1", "w2"},
		Body: json.RawMessage(`{"text":"go to depot"}`), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Message.ID
	if res.Online != 0 || res.Queued != 2 { // nobody published a status here
		t.Fatalf("online %d queued %d, want 0 and 2", res.Online, res.Queued)
	}
	w1.waitIDs(t, id)
	if got := string(w1.frames[0].Body); got != `{"text":"go to depot"}` {
		t.Fatalf("body %s", got)
	}
	if err := in1.Reply(wire.TypeAck, id); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, events, "w1:sent", "w2:sent", "w1:delivered", "w1:acked")
	if err := in1.Reply(wire.TypeAck, id); err != nil {
		t.Fatalf("a second ack: %v", err)
	}
	var nf *tracking.Error
	if err := in1.Reply(wire.TypeAck, "m_nope"); !errors.As(err, &nf) || nf.Code != tracking.CodeNotFound {
		t.Fatalf("ack of an unknown id: %v", err)
	}

	var w2 conn
	in2 := ds[1].Open(team, "w2", w2.send)
	defer in2.Close()
	w2.waitIDs(t, id)
	if err := in2.Reply(wire.TypeRead, id); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, events, "w1:sent", "w2:sent", "w1:delivered", "w1:acked", "w2:delivered", "w2:read")
	m, err := ds[0].Get(context.Background(), team, id)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range m.Recipients {
		states = append(states, r.Worker+":"+string(r.State))
	}
	if want := []string{"w1:acked", "w2:read"}; !slices.Equal(states, want) {
		t.Fatalf("Get: %v, want %v", states, want)
	}
}

// "all" is every worker the team knows; online counts those with a live
// connection by their status.
func TestSendToAll(t *testing.T) {
	ds, bs := setup(t, 1, dispatch.Config{})
	now := time.Now()
	broadcasttest.MustPublish(t, bs[0], broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w2", 1),
		broadcasttest.StatusMsg(team, "w1", now, 0, 0, "online"),
		broadcasttest.StatusMsg(team, "w3", now, 0, 0, "offline"))
	res, err := ds[0].Send(context.Background(), dispatch.Request{Team: team, Sender: "boss", All: true,
		Body: json.RawMessage(`{}`), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, r := range res.Message.Recipients {
		to = append(to, r.Worker)
	}
	if !slices.Equal(to, []string{"w1", "w2", "w3"}) || res.Online != 1 || res.Queued != 2 {
		t.Fatalf("to %v online %d queued %d", to, res.Online, res.Queued)
	}
	_, err = ds[0].Send(context.Background(), dispatch.Request{Team: "team_empty", Sender: "boss", All: true,
		Body: json.RawMessage(`{}`), TTL: time.Minute})
	var te *tracking.Error
	if !errors.As(err, &te) || te.Field != "to" {
		t.Fatalf("all of an empty team: %v", err)
	}
	_, err = ds[0].Send(context.Background(), dispatch.Request{Team: team, Sender: "boss", To: []string{"w1"},
		Body: json.RawMessage(`[1]`), TTL: time.Minute})
	if !errors.As(err, &te) || te.Field != "body" {
		t.Fatalf("array body: %v", err)
	}
}

// A recipient that does not ack within the ttl is expired (one event), and
// a worker connecting after the ttl gets nothing.
func TestExpiry(t *testing.T) {
	ds, bs := setup(t, 1, dispatch.Config{ExpireEvery: 20 * time.Millisecond})
	events, _ := broadcasttest.Subscribe(t, t.Context(), bs[0], team)
	res, err := ds[0].Send(context.Background(), dispatch.Request{Team: team, Sender: "boss", To: []string{"w9"},
		Body: json.RawMessage(`{"n":1}`), TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, events, "w9:sent", "w9:expired")
	var w conn
	in := ds[0].Open(team, "w9", w.send)
	time.Sleep(100 * time.Millisecond) // what the inbox would have sent by now
	in.Close()
	if ids := w.ids(); len(ids) != 0 {
		t.Fatalf("an expired message %s was delivered: %v", res.Message.ID, ids)
	}
	m, _ := ds[0].Get(context.Background(), team, res.Message.ID)
	if m.Recipients[0].State != messaging.StateExpired {
		t.Fatalf("state %s", m.Recipients[0].State)
	}
}

// A connection that fails ends its inbox; the message stays pending and
// goes to the next connection, once.
func TestRedeliveredOnNextConnection(t *testing.T) {
	ds, _ := setup(t, 1, dispatch.Config{})
	res, err := ds[0].Send(context.Background(), dispatch.Request{Team: team, Sender: "boss", To: []string{"w1"},
		Body: json.RawMessage(`{"n":1}`), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	gone := &conn{fail: true}
	ds[0].Open(team, "w1", gone.send).Close()
	var w conn
	in := ds[0].Open(team, "w1", w.send)
	defer in.Close()
	w.waitIDs(t, res.Message.ID)
	in.Close()
	// Delivered but not acked: the next connection gets it again.
	var again conn
	in = ds[0].Open(team, "w1", again.send)
	again.waitIDs(t, res.Message.ID)
	if err := in.Reply(wire.TypeAck, res.Message.ID); err != nil {
		t.Fatal(err)
	}
	in.Close()
	var last conn
	in = ds[0].Open(team, "w1", last.send)
	time.Sleep(100 * time.Millisecond) // what the inbox would have sent by now
	if ids := last.ids(); len(ids) != 0 {
		t.Fatalf("an acked message was sent again: %v", ids)
	}
	in.Close()
}
