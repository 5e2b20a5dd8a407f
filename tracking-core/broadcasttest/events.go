package broadcasttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// StatusMsg builds a status message of worker: its session (the start of
// its connection) and the change's time, both as offsets from base, and
// the status named in its JSON.
func StatusMsg(team, worker string, base time.Time, session, change time.Duration, status string) tracking.Message {
	return tracking.Message{Kind: tracking.KindStatus, Team: team, Worker: worker,
		Time: base.Add(session).UnixNano(), Received: base.Add(change).UnixNano(),
		JSON: fmt.Appendf(nil, `{"workerId":%q,"team":%q,"status":%q}`, worker, team, status)}
}

// AlertMsg builds an alert about worker named name in its JSON.
func AlertMsg(team, worker, name string, at time.Time) tracking.Message {
	return tracking.Message{Kind: tracking.KindAlert, Team: team, Worker: worker,
		Time: at.UnixNano(), Received: time.Now().UnixNano(),
		JSON: fmt.Appendf(nil, `{"kind":"enter","workerId":%q,"team":%q,"name":%q}`, worker, team, name)}
}

// DeliveryMsg builds a delivery event of message id to worker, in state.
func DeliveryMsg(team, worker, id, state string, at time.Time) tracking.Message {
	return tracking.Message{Kind: tracking.KindDelivery, Team: team, Worker: worker,
		Time: at.UnixNano(), Received: time.Now().UnixNano(),
		JSON: fmt.Appendf(nil, `{"messageId":%q,"workerId":%q,"team":%q,"state":%q}`, id, worker, team, state)}
}

// LastStatuses returns worker -> status JSON of the statuses in Last(team),
// failing on an alert there or a worker's status twice.
func LastStatuses(t testing.TB, b tracking.Broadcaster, team string) map[string]string {
	t.Helper()
	msgs, err := b.Last(context.Background(), team)
	if err != nil {
		t.Fatalf("Last(%s): %v", team, err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		switch m.Kind {
		case tracking.KindAlert, tracking.KindDelivery:
			t.Fatalf("Last(%s) returned an event (%s): %s", team, m.Kind, m.JSON)
		case tracking.KindStatus:
			if _, dup := got[m.Worker]; dup {
				t.Fatalf("Last(%s) returned two statuses of %s", team, m.Worker)
			}
			got[m.Worker] = string(m.JSON)
		}
	}
	return got
}

// Positions, statuses, alerts and deliveries published together reach every replica in
// the order published, each with its kind, times and bytes, and are resumed
// like positions.
func (s *suite) eventsDelivered(t *testing.T) {
	r := s.replicas(t, 2)
	const team = "team_events"
	_, head := Since(t, r[1], team, tracking.Offset{})
	c, _ := Subscribe(t, t.Context(), r[1], team)
	base := time.Now()
	sent := []tracking.Message{
		Msg(team, "w1", 1),
		StatusMsg(team, "w1", base, 0, time.Millisecond, "online"),
		Msg(team, "w1", 2),
		AlertMsg(team, "w1", "depot", base),
		StatusMsg(team, "w1", base, 0, 2*time.Millisecond, "idle"),
		DeliveryMsg(team, "w1", "m_1", "acked", base),
	}
	MustPublish(t, r[0], sent...)
	if !c.WaitCount(s.f.Timeout, len(sent)) {
		t.Fatalf("got %d of %d messages", len(c.Messages()), len(sent))
	}
	got := c.Messages()
	for i := range sent {
		checkSame(t, got[i], sent[i])
	}
	if err := CheckOffsets(got); err != nil {
		t.Fatal(err)
	}
	resumed, _ := Since(t, r[0], team, head)
	if err := sameMessages(resumed, got); err != nil {
		t.Fatalf("Since: %v", err)
	}
}

// Last holds each worker's newest position and the status that supersedes
// the others: a status of a newer session wins over a later change of an
// older one (the replica a worker left reporting its end late), whichever
// replica published it; alerts and deliveries are not kept, and a status never stands in
// for a position.
func (s *suite) lastStatuses(t *testing.T) {
	newReplica := namespace(t, s.setup)
	a, b := newReplica(), newReplica()
	const team = "team_presence"
	base := time.Now()
	MustPublish(t, a, Msg(team, "w1", 1), StatusMsg(team, "w1", base, 0, time.Millisecond, "online"))
	MustPublish(t, a, StatusMsg(team, "w1", base, 0, 2*time.Millisecond, "idle"))
	MustPublish(t, b, StatusMsg(team, "w1", base, time.Second, time.Second, "online-2"))
	MustPublish(t, a, StatusMsg(team, "w1", base, 0, 3*time.Second, "offline-replaced"), AlertMsg(team, "w1", "depot", base),
		DeliveryMsg(team, "w1", "m_1", "delivered", base))
	MustPublish(t, a, StatusMsg(team, "w2", base, 0, time.Millisecond, "online"))
	want := map[string]string{
		"w1": `{"workerId":"w1","team":"team_presence","status":"online-2"}`,
		"w2": `{"workerId":"w2","team":"team_presence","status":"online"}`,
	}
	c := newReplica()
	for i, r := range []tracking.Broadcaster{a, b, c} {
		var got map[string]string
		deadline := time.Now().Add(s.f.Timeout)
		for {
			got = LastStatuses(t, r, team)
			if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // polling the backend until its write lands
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("replica %d: statuses in Last = %v, want %v", i, got, want)
		}
		if pos := LastSeqs(t, r, team); fmt.Sprint(pos) != fmt.Sprint(map[string]int{"w1": 1}) {
			t.Fatalf("replica %d: positions in Last = %v, want w1's only", i, pos)
		}
	}
}
