package messagingtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/messaging"
)

// NewStore returns a fresh, empty store of the backend under test (its own
// file or schema). The suite closes it; whatever else it needs undone the
// constructor registers with t.Cleanup.
type NewStore func(t *testing.T) messaging.Store

// Run runs every conformance case against the backend, in parallel, each on
// a store of its own.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, st messaging.Store)
	}{
		{"CreateAndGet", createAndGet},
		{"CreateIsIdempotent", createIdempotent},
		{"CreateManyRecipients", createMany},
		{"PendingOldestFirst", pendingOrder},
		{"MarkForwardOnly", markForwardOnly},
		{"MarkPastExpiry", markPastExpiry},
		{"ConcurrentMarksChangeOnce", concurrentMarks},
		{"ExpireOnce", expireOnce},
		{"Prune", prune},
		{"TeamIsolation", teamIsolation},
		{"NotFound", notFound},
		{"BadInputNamesTheField", badInput},
		{"ReadyAndCloseTwice", readyClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			c.run(t, st)
		})
	}
}

// base is short for Base.
var base = Base

// Base is the instant the cases start from (a fixed one in the past, so
// that they do not depend on today); exported for backends' own tests.
var Base = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// Message returns a message of team from "manager-1" to workers, created
// at created, living ttl, with a small body.
func Message(team, id string, created time.Time, ttl time.Duration, workers ...string) messaging.Message {
	m := messaging.Message{ID: id, Team: team, Sender: "manager-1", CreatedAt: created, ExpiresAt: created.Add(ttl),
		Body: json.RawMessage(fmt.Sprintf(`{"text":"go to the depot","n":%q}`, id))}
	for _, w := range workers {
		m.Recipients = append(m.Recipients, messaging.Recipient{Worker: w})
	}
	return m
}

func create(t *testing.T, st messaging.Store, m messaging.Message) messaging.Message {
	t.Helper()
	got, err := st.Create(ctx(t), m)
	if err != nil {
		t.Fatalf("Create %s: %v", m.ID, err)
	}
	return got
}

func get(t *testing.T, st messaging.Store, team, id string) messaging.Message {
	t.Helper()
	m, err := st.Get(ctx(t), team, id)
	if err != nil {
		t.Fatalf("Get %s/%s: %v", team, id, err)
	}
	return m
}

func mark(t *testing.T, st messaging.Store, team, id, worker string, s messaging.State, at time.Time, want bool) {
	t.Helper()
	changed, err := st.Mark(ctx(t), team, id, worker, s, at)
	if err != nil {
		t.Fatalf("Mark %s %s %s: %v", id, worker, s, err)
	}
	if changed != want {
		t.Fatalf("Mark %s %s %s at %s: changed %v, want %v", id, worker, s, at, changed, want)
	}
}

func recipient(t *testing.T, m messaging.Message, worker string) messaging.Recipient {
	t.Helper()
	for _, r := range m.Recipients {
		if r.Worker == worker {
			return r
		}
	}
	t.Fatalf("message %s has no recipient %s", m.ID, worker)
	return messaging.Recipient{}
}

// wantCode fails unless err is a *tracking.Error with code (and, when
// field is not empty, naming field).
func wantCode(t *testing.T, what string, err error, code tracking.Code, field string) {
	t.Helper()
	var te *tracking.Error
	if !errors.As(err, &te) || te.Code != code || (field != "" && te.Field != field) {
		t.Fatalf("%s: error %v, want code %s naming %q", what, err, code, field)
	}
}

// sameMessage compares everything but the recipients' states.
func sameMessage(t *testing.T, what string, got, want messaging.Message) {
	t.Helper()
	if got.ID != want.ID || got.Team != want.Team || got.Sender != want.Sender || string(got.Body) != string(want.Body) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.CreatedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC || len(got.Recipients) != len(want.Recipients) {
		t.Fatalf("%s: got %+v (%s), want %+v (%s)", what, got, got.Body, want, want.Body)
	}
	for i := range want.Recipients {
		if got.Recipients[i].Worker != want.Recipients[i].Worker {
			t.Fatalf("%s: recipient %d is %s, want %s", what, i, got.Recipients[i].Worker, want.Recipients[i].Worker)
		}
	}
}

func ids(ms []messaging.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func createAndGet(t *testing.T, st messaging.Store) {
	m := Message("team_one", "", base, 10*time.Minute, "w-2", "w-1", "w-3")
	got := create(t, st, m)
	if got.ID == "" {
		t.Fatal("Create assigned no id")
	}
	m.ID = got.ID
	m.CreatedAt, m.ExpiresAt = messaging.Stamp(m.CreatedAt), messaging.Stamp(m.ExpiresAt)
	sameMessage(t, "Create's answer", got, m)
	stored := get(t, st, "team_one", got.ID)
	sameMessage(t, "Get", stored, m)
	for _, r := range append(got.Recipients, stored.Recipients...) {
		if r.State != messaging.StateSent || !r.DeliveredAt.IsZero() || !r.AckedAt.IsZero() || !r.ReadAt.IsZero() || !r.ExpiredAt.IsZero() {
			t.Fatalf("a new recipient is %+v, want sent with no times", r)
		}
	}
	// Two creates without an id are two messages.
	if other := create(t, st, Message("team_one", "", base, time.Minute, "w-1")); other.ID == got.ID {
		t.Fatalf("two creates got the same id %s", got.ID)
	}
}

func createIdempotent(t *testing.T, st messaging.Store) {
	first := create(t, st, Message("team_one", "m-1", base, 10*time.Minute, "w-1", "w-2"))
	mark(t, st, "team_one", "m-1", "w-1", messaging.StateDelivered, base.Add(time.Second), true)
	// The retry, stamped later: the stored message, unchanged, states kept.
	again := create(t, st, Message("team_one", "m-1", base.Add(3*time.Second), 10*time.Minute, "w-1", "w-2"))
	sameMessage(t, "the retried create", again, first)
	if r := recipient(t, again, "w-1"); r.State != messaging.StateDelivered {
		t.Fatalf("the retried create reset w-1 to %s", r.State)
	}
	// The same id for another message is refused.
	for name, m := range map[string]messaging.Message{
		"body": func() messaging.Message {
			m := Message("team_one", "m-1", base, 10*time.Minute, "w-1", "w-2")
			m.Body = []byte(`{}`)
			return m
		}(),
		"ttl":        Message("team_one", "m-1", base, 11*time.Minute, "w-1", "w-2"),
		"recipients": Message("team_one", "m-1", base, 10*time.Minute, "w-1", "w-3"),
	} {
		_, err := st.Create(ctx(t), m)
		wantCode(t, "Create m-1 with another "+name, err, tracking.CodeInvalidField, "id")
	}
	sameMessage(t, "after the refused creates", get(t, st, "team_one", "m-1"), first)
	// Concurrent creates of one message: one stored, every caller answered.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Create(ctx(t), Message("team_one", "m-2", base, time.Minute, "w-1", "w-2", "w-3"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Create: %v", err)
		}
	}
	if m := get(t, st, "team_one", "m-2"); len(m.Recipients) != 3 {
		t.Fatalf("after concurrent creates: %d recipients", len(m.Recipients))
	}
}

func createMany(t *testing.T, st messaging.Store) {
	n := messaging.MaxRecipients
	if testing.Short() {
		n = 500
	}
	workers := make([]string, n)
	for i := range workers {
		workers[i] = fmt.Sprintf("w-%05d", n-i) // not in id order: the given order is kept
	}
	m := create(t, st, Message("team_one", "all", base, time.Hour, workers...))
	got := get(t, st, "team_one", "all")
	sameMessage(t, "Get", got, m)
	if p, err := st.Pending(ctx(t), "team_one", workers[n/2], base, 10); err != nil || len(p) != 1 || p[0].ID != "all" {
		t.Fatalf("Pending of one of %d recipients: %v, %v", n, ids(p), err)
	}
}

func pendingOrder(t *testing.T, st messaging.Store) {
	// Created out of order; c and d at one instant (then by id).
	create(t, st, Message("team_one", "b", base.Add(2*time.Second), time.Hour, "w-1", "w-2"))
	create(t, st, Message("team_one", "a", base, time.Hour, "w-1"))
	create(t, st, Message("team_one", "d", base.Add(3*time.Second), time.Hour, "w-1"))
	create(t, st, Message("team_one", "c", base.Add(3*time.Second), time.Hour, "w-1"))
	create(t, st, Message("team_one", "short", base.Add(time.Second), time.Minute, "w-1"))
	create(t, st, Message("team_one", "other", base, time.Hour, "w-2"))
	now := base.Add(10 * time.Second)
	pending := func(worker string, now time.Time, limit int) []messaging.Message {
		t.Helper()
		p, err := st.Pending(ctx(t), "team_one", worker, now, limit)
		if err != nil {
			t.Fatalf("Pending %s: %v", worker, err)
		}
		return p
	}
	if got := ids(pending("w-1", now, 100)); strings.Join(got, ",") != "a,short,b,c,d" {
		t.Fatalf("pending of w-1: %v, want a,short,b,c,d", got)
	}
	if got := ids(pending("w-1", now, 2)); strings.Join(got, ",") != "a,short" {
		t.Fatalf("pending of w-1, limit 2: %v", got)
	}
	p := pending("w-2", now, 100)
	if got := ids(p); strings.Join(got, ",") != "other,b" {
		t.Fatalf("pending of w-2: %v, want other,b", got)
	}
	want := Message("team_one", "b", base.Add(2*time.Second), time.Hour, "w-2")
	want.CreatedAt, want.ExpiresAt = messaging.Stamp(want.CreatedAt), messaging.Stamp(want.ExpiresAt)
	sameMessage(t, "a pending message", p[1], want)
	if p[1].Recipients[0].State != messaging.StateSent {
		t.Fatalf("pending recipient %+v", p[1].Recipients[0])
	}
	if p := pending("w-3", now, 100); len(p) != 0 {
		t.Fatalf("pending of a worker with no messages: %v", ids(p))
	}
	// Delivered stays pending (until acked); acked, read and expired do not.
	mark(t, st, "team_one", "a", "w-1", messaging.StateDelivered, now, true)
	mark(t, st, "team_one", "b", "w-1", messaging.StateAcked, now, true)
	mark(t, st, "team_one", "c", "w-1", messaging.StateRead, now, true)
	mark(t, st, "team_one", "d", "w-1", messaging.StateExpired, now, true)
	p = pending("w-1", now, 100)
	if got := ids(p); strings.Join(got, ",") != "a,short" {
		t.Fatalf("pending of w-1 after marks: %v, want a,short", got)
	}
	if r := p[0].Recipients[0]; r.Worker != "w-1" || r.State != messaging.StateDelivered || !r.DeliveredAt.Equal(messaging.Stamp(now)) {
		t.Fatalf("pending delivered recipient %+v", r)
	}
	// Past its ExpiresAt a message is not pending, Expire or not.
	if got := ids(pending("w-1", base.Add(time.Second+time.Minute), 100)); strings.Join(got, ",") != "a" {
		t.Fatalf("pending of w-1 once short expired: %v, want a", got)
	}
	if got := ids(pending("w-1", base.Add(time.Minute), 100)); strings.Join(got, ",") != "a,short" {
		t.Fatalf("pending of w-1 just before short expires: %v, want a,short", got)
	}
}

func markForwardOnly(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, time.Hour, "w-1", "w-2", "w-3", "w-4"))
	t1, t2, t3 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second)
	mark(t, st, "team_one", "m", "w-1", messaging.StateDelivered, t1, true)
	mark(t, st, "team_one", "m", "w-1", messaging.StateDelivered, t2, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateAcked, t2, true)
	mark(t, st, "team_one", "m", "w-1", messaging.StateDelivered, t3, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateAcked, t3, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateExpired, t3, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateRead, t3, true)
	mark(t, st, "team_one", "m", "w-1", messaging.StateRead, t3, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateAcked, t3, false)
	// An ack without a recorded delivery: delivered at the ack's time.
	mark(t, st, "team_one", "m", "w-2", messaging.StateAcked, t2, true)
	// Expired from sent and from delivered; nothing moves it on.
	mark(t, st, "team_one", "m", "w-3", messaging.StateExpired, t1, true)
	mark(t, st, "team_one", "m", "w-4", messaging.StateDelivered, t1, true)
	mark(t, st, "team_one", "m", "w-4", messaging.StateExpired, t2, true)
	for _, w := range []string{"w-3", "w-4"} {
		for _, s := range []messaging.State{messaging.StateDelivered, messaging.StateAcked, messaging.StateRead, messaging.StateExpired} {
			mark(t, st, "team_one", "m", w, s, t3, false)
		}
	}
	m := get(t, st, "team_one", "m")
	z := time.Time{}
	for _, want := range []messaging.Recipient{
		{Worker: "w-1", State: messaging.StateRead, DeliveredAt: t1, AckedAt: t2, ReadAt: t3},
		{Worker: "w-2", State: messaging.StateAcked, DeliveredAt: t2, AckedAt: t2},
		{Worker: "w-3", State: messaging.StateExpired, ExpiredAt: t1},
		{Worker: "w-4", State: messaging.StateExpired, DeliveredAt: t1, ExpiredAt: t2},
	} {
		got := recipient(t, m, want.Worker)
		eq := func(a, b time.Time) bool { return a.IsZero() && b.IsZero() || a.Equal(messaging.Stamp(b)) && b != z }
		if got.State != want.State || !eq(got.DeliveredAt, want.DeliveredAt) || !eq(got.AckedAt, want.AckedAt) ||
			!eq(got.ReadAt, want.ReadAt) || !eq(got.ExpiredAt, want.ExpiredAt) {
			t.Fatalf("recipient %+v, want %+v", got, want)
		}
		for _, at := range []time.Time{got.DeliveredAt, got.AckedAt, got.ReadAt, got.ExpiredAt} {
			if !at.IsZero() && at.Location() != time.UTC {
				t.Fatalf("recipient %+v: a time not in UTC", got)
			}
		}
	}
}

func markPastExpiry(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, time.Minute, "w-1", "w-2", "w-3"))
	end := base.Add(time.Minute)
	mark(t, st, "team_one", "m", "w-1", messaging.StateDelivered, end, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateAcked, end.Add(time.Hour), false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateRead, end, false)
	mark(t, st, "team_one", "m", "w-1", messaging.StateDelivered, end.Add(-time.Microsecond), true)
	mark(t, st, "team_one", "m", "w-1", messaging.StateAcked, end, false)
	// Acked in time, read late: allowed (the ack made it).
	mark(t, st, "team_one", "m", "w-2", messaging.StateAcked, end.Add(-time.Second), true)
	mark(t, st, "team_one", "m", "w-2", messaging.StateRead, end.Add(time.Hour), true)
	// Expired by Expire: a late mark changes nothing.
	if ex, err := st.Expire(ctx(t), end, 100); err != nil || len(ex) != 2 {
		t.Fatalf("Expire: %+v, %v", ex, err)
	}
	mark(t, st, "team_one", "m", "w-3", messaging.StateAcked, end.Add(-time.Second), false)
	m := get(t, st, "team_one", "m")
	if s := recipient(t, m, "w-1").State; s != messaging.StateExpired {
		t.Fatalf("w-1 is %s, want expired", s)
	}
	if s := recipient(t, m, "w-2").State; s != messaging.StateRead {
		t.Fatalf("w-2 is %s, want read", s)
	}
}

func concurrentMarks(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, time.Hour, "w-1", "w-2"))
	const n = 8
	round := func(worker string, s messaging.State) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		changed := 0
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := st.Mark(ctx(t), "team_one", "m", worker, s, base.Add(time.Duration(i+1)*time.Second))
				if err != nil {
					t.Errorf("Mark %s: %v", s, err)
				}
				if ok {
					mu.Lock()
					changed++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		return changed
	}
	for _, s := range []messaging.State{messaging.StateDelivered, messaging.StateAcked, messaging.StateRead} {
		if c := round("w-1", s); c != 1 {
			t.Fatalf("%d concurrent marks %s: %d changed, want 1", n, s, c)
		}
	}
	if c := round("w-2", messaging.StateExpired); c != 1 {
		t.Fatalf("%d concurrent marks expired: %d changed, want 1", n, c)
	}
	// Expire racing a Mark of expired: one of them reports it.
	create(t, st, Message("team_one", "race", base, time.Minute, "w-1"))
	var wg sync.WaitGroup
	var marked bool
	var expired []messaging.Expired
	var merr, eerr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		marked, merr = st.Mark(ctx(t), "team_one", "race", "w-1", messaging.StateExpired, base.Add(time.Hour))
	}()
	go func() { defer wg.Done(); expired, eerr = st.Expire(ctx(t), base.Add(time.Hour), 100) }()
	wg.Wait()
	if merr != nil || eerr != nil {
		t.Fatalf("Mark: %v; Expire: %v", merr, eerr)
	}
	if marked == (len(expired) == 1) || len(expired) > 1 {
		t.Fatalf("Mark expired reported %v and Expire returned %+v: want exactly one of them", marked, expired)
	}
}

func expireOnce(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, 10*time.Second, "w-1", "w-2", "w-3", "w-4"))
	create(t, st, Message("team_two", "m", base.Add(time.Second), 10*time.Second, "w-1"))
	create(t, st, Message("team_one", "later", base, time.Hour, "w-1"))
	mark(t, st, "team_one", "m", "w-2", messaging.StateDelivered, base.Add(time.Second), true)
	mark(t, st, "team_one", "m", "w-3", messaging.StateAcked, base.Add(time.Second), true)
	mark(t, st, "team_one", "m", "w-4", messaging.StateRead, base.Add(time.Second), true)
	expire := func(now time.Time, limit int) []messaging.Expired {
		t.Helper()
		ex, err := st.Expire(ctx(t), now, limit)
		if err != nil {
			t.Fatalf("Expire: %v", err)
		}
		return ex
	}
	if ex := expire(base.Add(10*time.Second-time.Microsecond), 100); len(ex) != 0 {
		t.Fatalf("Expire before ExpiresAt: %+v", ex)
	}
	end := messaging.Stamp(base.Add(10 * time.Second))
	first := expire(end.Add(30*time.Minute), 1)
	rest := expire(end.Add(30*time.Minute), 100)
	got := append(first, rest...)
	want := []messaging.Expired{
		{Team: "team_one", ID: "m", Worker: "w-1", At: end},
		{Team: "team_one", ID: "m", Worker: "w-2", At: end},
		{Team: "team_two", ID: "m", Worker: "w-1", At: end.Add(time.Second)},
	}
	if len(first) != 1 || len(got) != len(want) {
		t.Fatalf("Expire, limit 1 then 100: %+v then %+v, want %+v", first, rest, want)
	}
	seen := map[messaging.Expired]bool{}
	for _, e := range got {
		if e.At.Location() != time.UTC {
			t.Fatalf("expired %+v: At not in UTC", e)
		}
		seen[messaging.Expired{Team: e.Team, ID: e.ID, Worker: e.Worker, At: e.At.UTC()}] = true
	}
	for _, w := range want {
		if !seen[w] {
			t.Fatalf("Expire returned %+v, want %+v", got, want)
		}
	}
	for i := 1; i < len(rest); i++ {
		if messaging.CompareExpired(rest[i-1], rest[i]) >= 0 {
			t.Fatalf("Expire's answer out of order: %+v", rest)
		}
	}
	if ex := expire(end.Add(30*time.Minute), 100); len(ex) != 0 {
		t.Fatalf("a second Expire returned %+v", ex)
	}
	m := get(t, st, "team_one", "m")
	for w, s := range map[string]messaging.State{"w-1": messaging.StateExpired, "w-2": messaging.StateExpired,
		"w-3": messaging.StateAcked, "w-4": messaging.StateRead} {
		r := recipient(t, m, w)
		if r.State != s || (s == messaging.StateExpired) != r.ExpiredAt.Equal(end) {
			t.Fatalf("%s after Expire: %+v, want %s", w, r, s)
		}
	}
	if r := recipient(t, m, "w-2"); !r.DeliveredAt.Equal(messaging.Stamp(base.Add(time.Second))) {
		t.Fatalf("w-2 lost its delivery time: %+v", r)
	}
	if s := get(t, st, "team_one", "later").Recipients[0].State; s != messaging.StateSent {
		t.Fatalf("a message not yet expired is %s", s)
	}
}

func prune(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "old", base, time.Minute, "w-1"))
	create(t, st, Message("team_one", "new", base, time.Hour, "w-1"))
	if err := st.Prune(ctx(t), base.Add(time.Minute)); err != nil { // not before: kept
		t.Fatal(err)
	}
	get(t, st, "team_one", "old")
	if err := st.Prune(ctx(t), base.Add(time.Minute+time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	_, err := st.Get(ctx(t), "team_one", "old")
	wantCode(t, "Get of a pruned message", err, tracking.CodeNotFound, "")
	_, err = st.Mark(ctx(t), "team_one", "old", "w-1", messaging.StateExpired, base)
	wantCode(t, "Mark of a pruned message", err, tracking.CodeNotFound, "")
	get(t, st, "team_one", "new")
	// A pruned id may be used again.
	create(t, st, Message("team_one", "old", base.Add(time.Hour), time.Minute, "w-2"))
}

func teamIsolation(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, time.Hour, "w-1"))
	_, err := st.Get(ctx(t), "team_two", "m")
	wantCode(t, "Get of another team's message", err, tracking.CodeNotFound, "")
	_, err = st.Mark(ctx(t), "team_two", "m", "w-1", messaging.StateDelivered, base)
	wantCode(t, "Mark of another team's message", err, tracking.CodeNotFound, "")
	if p, err := st.Pending(ctx(t), "team_two", "w-1", base, 10); err != nil || len(p) != 0 {
		t.Fatalf("Pending of another team: %v, %v", ids(p), err)
	}
	// The same id in another team is another message.
	other := Message("team_two", "m", base, time.Minute, "w-2")
	other.Body = []byte(`{"other":true}`)
	create(t, st, other)
	mark(t, st, "team_two", "m", "w-2", messaging.StateAcked, base, true)
	if m := get(t, st, "team_one", "m"); string(m.Body) == string(other.Body) || m.Recipients[0].State != messaging.StateSent {
		t.Fatalf("team_one's message changed with team_two's: %+v", m)
	}
}

func notFound(t *testing.T, st messaging.Store) {
	create(t, st, Message("team_one", "m", base, time.Hour, "w-1"))
	_, err := st.Get(ctx(t), "team_one", "nope")
	wantCode(t, "Get of an unknown message", err, tracking.CodeNotFound, "")
	_, err = st.Mark(ctx(t), "team_one", "nope", "w-1", messaging.StateDelivered, base)
	wantCode(t, "Mark of an unknown message", err, tracking.CodeNotFound, "")
	_, err = st.Mark(ctx(t), "team_one", "m", "w-2", messaging.StateDelivered, base)
	wantCode(t, "Mark of a worker the message is not for", err, tracking.CodeNotFound, "")
}

func badInput(t *testing.T, st messaging.Store) {
	ok := func() messaging.Message { return Message("team_one", "m", base, time.Minute, "w-1", "w-2") }
	many := make([]string, messaging.MaxRecipients+1)
	for i := range many {
		many[i] = fmt.Sprintf("w-%d", i)
	}
	for _, c := range []struct {
		field string
		edit  func(m *messaging.Message)
	}{
		{"team", func(m *messaging.Message) { m.Team = "" }},
		{"team", func(m *messaging.Message) { m.Team = "team one" }},
		{"id", func(m *messaging.Message) { m.ID = "a/b" }},
		{"sender", func(m *messaging.Message) { m.Sender = "" }},
		{"body", func(m *messaging.Message) { m.Body = nil }},
		{"body", func(m *messaging.Message) { m.Body = []byte(`[1,2]`) }},
		{"body", func(m *messaging.Message) { m.Body = []byte(`"text"`) }},
		{"body", func(m *messaging.Message) { m.Body = []byte(`{"a":`) }},
		{"body", func(m *messaging.Message) { m.Body = []byte(`{"a":1} {}`) }},
		{"body", func(m *messaging.Message) {
			m.Body = []byte(`{"a":"` + strings.Repeat("x", messaging.MaxBodyBytes) + `"}`)
		}},
		{"createdAt", func(m *messaging.Message) { m.CreatedAt = time.Time{} }},
		{"ttl", func(m *messaging.Message) { m.ExpiresAt = m.CreatedAt.Add(999 * time.Millisecond) }},
		{"ttl", func(m *messaging.Message) { m.ExpiresAt = m.CreatedAt.Add(-time.Minute) }},
		{"ttl", func(m *messaging.Message) { m.ExpiresAt = m.CreatedAt.Add(messaging.MaxTTL + time.Second) }},
		{"to", func(m *messaging.Message) { m.Recipients = nil }},
		{"to", func(m *messaging.Message) { *m = Message("team_one", "m", base, time.Minute, many...) }},
		{"to[1]", func(m *messaging.Message) { m.Recipients[1].Worker = "w 2" }},
		{"to[1]", func(m *messaging.Message) { m.Recipients[1].Worker = "w-1" }},
		{"to[0]", func(m *messaging.Message) { m.Recipients[0].Worker = "" }},
	} {
		m := ok()
		c.edit(&m)
		_, err := st.Create(ctx(t), m)
		wantCode(t, "Create with a bad "+c.field, err, tracking.CodeInvalidField, c.field)
	}
	// The limits themselves are fine.
	edge := ok()
	edge.ExpiresAt = edge.CreatedAt.Add(messaging.MaxTTL)
	edge.Body = []byte(`{"a":"` + strings.Repeat("x", messaging.MaxBodyBytes-8) + `"}`)
	create(t, st, edge)
	short := Message("team_one", "short", base, messaging.MinTTL, "w-1")
	create(t, st, short)

	_, err := st.Pending(ctx(t), "team_one", "w-1", base, 0)
	wantCode(t, "Pending with limit 0", err, tracking.CodeInvalidField, "limit")
	_, err = st.Pending(ctx(t), "team_one", "w-1", base, messaging.MaxLimit+1)
	wantCode(t, "Pending with a huge limit", err, tracking.CodeInvalidField, "limit")
	_, err = st.Pending(ctx(t), "team_one", "", base, 10)
	wantCode(t, "Pending of no worker", err, tracking.CodeInvalidField, "worker")
	_, err = st.Pending(ctx(t), "", "w-1", base, 10)
	wantCode(t, "Pending of no team", err, tracking.CodeInvalidField, "team")
	for _, s := range []messaging.State{messaging.StateSent, "bogus", ""} {
		_, err = st.Mark(ctx(t), "team_one", "m", "w-1", s, base)
		wantCode(t, "Mark to "+string(s), err, tracking.CodeInvalidField, "state")
	}
	_, err = st.Mark(ctx(t), "team_one", "m", "w-1", messaging.StateDelivered, time.Time{})
	wantCode(t, "Mark at no time", err, tracking.CodeInvalidField, "at")
	_, err = st.Mark(ctx(t), "team_one", "m", "w 1", messaging.StateDelivered, base)
	wantCode(t, "Mark of a bad worker", err, tracking.CodeInvalidField, "worker")
	_, err = st.Mark(ctx(t), "team_one", "", "w-1", messaging.StateDelivered, base)
	wantCode(t, "Mark of no id", err, tracking.CodeInvalidField, "id")
	_, err = st.Get(ctx(t), "team_one", "")
	wantCode(t, "Get of no id", err, tracking.CodeInvalidField, "id")
	_, err = st.Get(ctx(t), "bad team", "m")
	wantCode(t, "Get of a bad team", err, tracking.CodeInvalidField, "team")
	_, err = st.Expire(ctx(t), base, 0)
	wantCode(t, "Expire with limit 0", err, tracking.CodeInvalidField, "limit")
}

func readyClose(t *testing.T, st messaging.Store) {
	if err := st.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := st.Ready(ctx(t)); !errors.Is(err, messaging.ErrClosed) {
		t.Fatalf("Ready after Close: %v, want ErrClosed", err)
	}
	if _, err := st.Create(ctx(t), Message("team_one", "m", base, time.Minute, "w-1")); !errors.Is(err, messaging.ErrClosed) {
		t.Fatalf("Create after Close: %v, want ErrClosed", err)
	}
	if _, err := st.Get(ctx(t), "team_one", "m"); !errors.Is(err, messaging.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
}
