package servicetest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/wire"
)

// messagePair starts replicas A and B sharing a message store.
func (s *scenarios) messagePair(t *testing.T, api httpapi.Config) (a, b *Replica) {
	store, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "messages.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if api.RecordsPerSecond == 0 {
		api.RecordsPerSecond = -1
	}
	newB := s.setup(t)
	cfg := service.Config{API: api, Messages: store}
	return StartReplicaConfig(t, newB(), cfg), StartReplicaConfig(t, newB(), cfg)
}

// sendMessage POSTs a message and returns the answer's id, online and queued.
func sendMessage(t *testing.T, base, team, body string) (id string, online, queued int) {
	t.Helper()
	code, answer := callJSON(t, "POST", base+"/tracking/"+team+"/messages", body)
	var v struct {
		ID             string
		Online, Queued int
	}
	if code != 201 || json.Unmarshal(answer, &v) != nil || v.ID == "" {
		t.Fatalf("POST messages %s: %d %s", body, code, answer)
	}
	return v.ID, v.Online, v.Queued
}

// dialAs connects a worker WebSocket and sends one position, which names
// the connection's worker.
func dialAs(t *testing.T, r *Replica, team, worker string, seq int) *Worker {
	t.Helper()
	w := MustDialWorker(t, r.WS+"/tracking/ws")
	if err := w.Send(Rec(team, worker, seq)); err != nil {
		t.Fatal(err)
	}
	return w
}

// dispatchIDs are the ids of the dispatch messages w got, in order.
func dispatchIDs(w *Worker) []string {
	var ids []string
	for _, m := range w.Dispatches() {
		ids = append(ids, m.ID)
	}
	return ids
}

// hasInOrder reports whether want appear in got in this order.
func hasInOrder(got []string, want ...string) bool {
	for _, g := range got {
		if len(want) > 0 && g == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}

// Workers on A and B, a manager on B: a message sent through B to a worker
// on A is delivered and acked, each state an event on the manager's stream
// and in GET .../messages/{id}; "all" reaches every online worker; a worker
// offline when messages are sent gets, when it connects again, those still
// within their ttl and not the others, which expire.
func (s *scenarios) messages(t *testing.T) {
	a, b := s.messagePair(t, httpapi.Config{})
	const team = "team_msg"
	mgr := MustOpenManagerWS(t, b.WS+"/tracking/"+team+"/ws")
	w1, w2, w3 := dialAs(t, a, team, "w1", 1), dialAs(t, a, team, "w2", 1), dialAs(t, b, team, "w3", 1)
	w4 := dialAs(t, a, team, "w4", 1)
	online := func(statuses []string) bool {
		return hasAll(statuses, "w1:online/", "w2:online/", "w3:online/", "w4:online/")
	}
	if !mgr.WaitEvents(s.f.Timeout, online) {
		t.Fatalf("statuses %v: the workers are not all online", mgr.Statuses())
	}
	w4.Close()
	if !mgr.WaitEvents(s.f.Timeout, func(st []string) bool { return slices.Contains(st, "w4:offline/disconnected") }) {
		t.Fatalf("statuses %v: w4 did not go offline", mgr.Statuses())
	}

	// One worker, across replicas.
	id, on, queued := sendMessage(t, b.URL, team, `{"to":["w1"],"body":{"text":"go to depot 4"},"ttl":"1m"}`)
	if on != 1 || queued != 0 {
		t.Fatalf("online %d queued %d, want 1 and 0", on, queued)
	}
	if !w1.Wait(s.f.Timeout, func() bool { return slices.Contains(dispatchIDs(w1), id) }) {
		t.Fatalf("w1 did not get message %s: %v", id, w1.Answers())
	}
	if got := string(w1.Dispatches()[0].Body); got != `{"text":"go to depot 4"}` {
		t.Fatalf("body %s", got)
	}
	if err := w1.Send(wire.AppendWorkerReply(nil, wire.TypeAck, id)); err != nil {
		t.Fatal(err)
	}
	// delivered and acked come from A in that order; sent from B, whose
	// publish may reach the broker after A's (each replica's events are in
	// order, not one replica's against another's).
	if !mgr.WaitDeliveries(s.f.Timeout, func(d []string) bool {
		return slices.Contains(d, id+":w1:sent") && hasInOrder(d, id+":w1:delivered", id+":w1:acked")
	}) {
		t.Fatalf("deliveries %v: want sent, delivered, acked of %s", mgr.Deliveries(), id)
	}
	code, body := callJSON(t, "GET", a.URL+"/tracking/"+team+"/messages/"+id, "")
	var got struct {
		Recipients []struct{ WorkerID, State string }
	}
	if code != 200 || json.Unmarshal(body, &got) != nil || len(got.Recipients) != 1 || got.Recipients[0].State != "acked" {
		t.Fatalf("GET message: %d %s", code, body)
	}
	if len(dispatchIDs(w2)) != 0 || len(dispatchIDs(w3)) != 0 {
		t.Fatalf("a message to w1 reached w2 (%v) or w3 (%v)", dispatchIDs(w2), dispatchIDs(w3))
	}

	// All: every online worker, on either replica; the offline one is queued.
	// "all" is the team as the sending replica knows it (its Last, which a
	// broker may bring up to date a moment after the stream): wait for it.
	awaitPresence(t, a.URL, team, s.f.Timeout, "w1:online", "w2:online", "w3:online", "w4:offline")
	all, on, queued := sendMessage(t, a.URL, team, `{"to":"all","body":{"text":"storm warning"},"ttl":"10m"}`)
	if on != 3 || queued != 1 {
		t.Fatalf("to all: online %d queued %d, want 3 and 1", on, queued)
	}
	for name, w := range map[string]*Worker{"w1": w1, "w2": w2, "w3": w3} {
		if !w.Wait(s.f.Timeout, func() bool { return slices.Contains(dispatchIDs(w), all) }) {
			t.Fatalf("%s did not get the message to all", name)
		}
	}

	// Offline w4: one message that expires before it comes back, one that
	// does not. The expiring one is older, so it would come first.
	short, _, q1 := sendMessage(t, b.URL, team, `{"to":["w4"],"body":{"n":1},"ttl":"1s"}`)
	long, _, q2 := sendMessage(t, b.URL, team, `{"to":["w4"],"body":{"n":2},"ttl":"1m"}`)
	if q1 != 1 || q2 != 1 {
		t.Fatalf("queued %d and %d for offline w4, want 1", q1, q2)
	}
	if !mgr.WaitDeliveries(s.f.Timeout, func(d []string) bool { return slices.Contains(d, short+":w4:expired") }) {
		t.Fatalf("deliveries %v: %s to w4 did not expire", mgr.Deliveries(), short)
	}
	w4 = dialAs(t, b, team, "w4", 2)
	if !w4.Wait(s.f.Timeout, func() bool { return slices.Contains(dispatchIDs(w4), long) }) {
		t.Fatalf("w4 did not get its pending message on reconnect: %v", w4.Answers())
	}
	if ids := dispatchIDs(w4); !slices.Equal(ids, []string{all, long}) {
		t.Fatalf("w4 got %v on reconnect, want the message to all then %s (not the expired %s)", ids, long, short)
	}
	if !mgr.WaitDeliveries(s.f.Timeout, func(d []string) bool { return slices.Contains(d, long+":w4:delivered") }) {
		t.Fatalf("deliveries %v: no delivered of %s to w4", mgr.Deliveries(), long)
	}

	// A reply to a message the worker was not sent is answered, not dropped.
	if err := w2.Send(wire.AppendWorkerReply(nil, wire.TypeAck, long)); err != nil {
		t.Fatal(err)
	}
	if !w2.Wait(s.f.Timeout, func() bool {
		for _, m := range w2.Messages() {
			if m.Type == wire.TypeError && m.Error.Code == "not_found" && m.Error.ID == long {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("w2's ack of another's message: answers %v", w2.Answers())
	}
}

// awaitPresence polls GET .../presence on base until it holds want
// ("worker:status"), exactly.
func awaitPresence(t *testing.T, base, team string, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := callJSON(t, "GET", base+"/tracking/"+team+"/presence", "")
		var got []struct{ WorkerID, Status string }
		if code == 200 && json.Unmarshal(body, &got) == nil {
			var have []string
			for _, g := range got {
				have = append(have, g.WorkerID+":"+g.Status)
			}
			slices.Sort(have)
			if slices.Equal(have, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence of %s on %s: %d %s, want %v", team, base, code, body, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the replica's view of the broker
	}
}

// hasAll reports whether got holds every one of want.
func hasAll(got []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
