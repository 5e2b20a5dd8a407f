package alertingtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// NewStore returns a fresh, empty store of the backend under test (its own
// file or schema). The suite closes it; whatever else it needs undone the
// constructor registers with t.Cleanup.
type NewStore func(t *testing.T) alerting.Store

// Run runs every conformance case against the backend, in parallel, each on
// a store of its own.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, st alerting.Store)
	}{
		{"DefinitionsCRUD", definitionsCRUD},
		{"ChangesFeed", changesFeed},
		{"ChangesUnderConcurrentWriters", changesConcurrent},
		{"PruneTombstonesGivesFullChanges", pruneTombstones},
		{"EventsIdempotentAndPaged", eventsPaged},
		{"EventsBadQueries", eventsBadQueries},
		{"WebhooksCRUD", webhooksCRUD},
		{"AppendQueuesMatchingWebhooks", appendQueues},
		{"LeaseIsExclusiveUntilItRunsOut", leaseExclusive},
		{"LeasePerWebhookAndSkip", leasePerWebhook},
		{"FailedRetriesThenDeadLetters", failedAndDead},
		{"ReplayDeadLetters", replay},
		{"ConcurrentLeasesHandOutEachOnce", concurrentLeases},
		{"DeleteWebhookDropsItsDeliveries", deleteWebhookDrops},
		{"PruneEvents", pruneEvents},
		{"ClaimsExclusiveRenewedReleased", claims},
		{"ReadyAndCloseTwice", readyClose},
	}
	for _, c := range append(cases, pushCases...) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			c.run(t, st)
		})
	}
}

// base is a fixed instant in the past, so that cases do not depend on today.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func must[T any](t *testing.T, what string) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// Event returns an event of worker in team with kind at time at; its JSON is
// the canonical record's shape.
func Event(team, worker, id, kind string, at time.Time) alerting.Event {
	return alerting.Event{ID: id, Team: team, Worker: worker, Kind: kind, Time: at,
		JSON: fmt.Appendf(nil, `{"id":%q,"kind":%q,"team":%q,"workerId":%q,"fenceId":"f1","name":"Depot","location":{"latitude":1.5,"longitude":-2.25},"time":%q}`,
			id, kind, team, worker, at.UTC().Format(time.RFC3339Nano))}
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

func timeEqual(got, want time.Time) bool {
	return got.Equal(want) || got.Equal(want.Truncate(time.Microsecond))
}

func sameEvents(t *testing.T, what string, got, want []alerting.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Team != w.Team || g.Worker != w.Worker || g.Kind != w.Kind ||
			!timeEqual(g.Time, w.Time) || string(g.JSON) != string(w.JSON) || g.Time.Location() != time.UTC {
			t.Fatalf("%s: event %d is %+v (%s), want %+v (%s)", what, i, g, g.JSON, w, w.JSON)
		}
	}
}

func definitionsCRUD(t *testing.T, st alerting.Store) {
	put := must[alerting.Definition](t, "PutDefinition")
	d1 := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: alerting.KindFence, ID: "depot", JSON: []byte(`{"name":"Depot"}`)}))
	if d1.Version <= 0 || d1.UpdatedAt.IsZero() || d1.Deleted {
		t.Fatalf("stored definition %+v: want a positive version and an update time", d1)
	}
	d2 := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: alerting.KindFence, ID: "depot", JSON: []byte(`{"name":"Depot 2"}`)}))
	if d2.Version <= d1.Version {
		t.Fatalf("replacing gave version %d after %d", d2.Version, d1.Version)
	}
	put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: alerting.KindFence, ID: "yard", JSON: []byte(`{"name":"Yard"}`)}))
	put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: alerting.KindRule, ID: "depot", JSON: []byte(`{"rule":1}`)}))
	put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_two", Kind: alerting.KindFence, ID: "depot", JSON: []byte(`{"other":1}`)}))

	got := must[alerting.Definition](t, "GetDefinition")(st.GetDefinition(ctx(t), "team_one", alerting.KindFence, "depot"))
	if string(got.JSON) != `{"name":"Depot 2"}` || got.Version != d2.Version {
		t.Fatalf("Get: %+v %s", got, got.JSON)
	}
	list := must[[]alerting.Definition](t, "ListDefinitions")(st.ListDefinitions(ctx(t), "team_one", alerting.KindFence))
	if len(list) != 2 || list[0].ID != "depot" || list[1].ID != "yard" {
		t.Fatalf("List team_one fences: %+v", list)
	}
	del := must[alerting.Definition](t, "DeleteDefinition")(st.DeleteDefinition(ctx(t), "team_one", alerting.KindFence, "depot"))
	if !del.Deleted || del.Version <= d2.Version {
		t.Fatalf("tombstone %+v", del)
	}
	_, err := st.GetDefinition(ctx(t), "team_one", alerting.KindFence, "depot")
	wantCode(t, "Get deleted", err, tracking.CodeNotFound, "")
	_, err = st.DeleteDefinition(ctx(t), "team_one", alerting.KindFence, "depot")
	wantCode(t, "Delete deleted", err, tracking.CodeNotFound, "")
	_, err = st.GetDefinition(ctx(t), "team_three", alerting.KindFence, "yard")
	wantCode(t, "Get of another team", err, tracking.CodeNotFound, "")
	list = must[[]alerting.Definition](t, "ListDefinitions")(st.ListDefinitions(ctx(t), "team_one", alerting.KindFence))
	if len(list) != 1 || list[0].ID != "yard" {
		t.Fatalf("List after delete: %+v", list)
	}
	// Put again after a delete revives it.
	again := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: alerting.KindFence, ID: "depot", JSON: []byte(`{"v":3}`)}))
	if again.Version <= del.Version {
		t.Fatalf("revived version %d after tombstone %d", again.Version, del.Version)
	}
	for _, c := range []struct {
		field string
		d     alerting.Definition
	}{
		{"team", alerting.Definition{Team: "bad team", Kind: "fence", ID: "x", JSON: []byte(`{}`)}},
		{"kind", alerting.Definition{Team: "t", Kind: "Fence!", ID: "x", JSON: []byte(`{}`)}},
		{"id", alerting.Definition{Team: "t", Kind: "fence", ID: "", JSON: []byte(`{}`)}},
		{"json", alerting.Definition{Team: "t", Kind: "fence", ID: "x"}},
	} {
		_, err := st.PutDefinition(ctx(t), c.d)
		wantCode(t, "Put with a bad "+c.field, err, tracking.CodeInvalidField, c.field)
	}
}

func changesFeed(t *testing.T, st alerting.Store) {
	changes := must[alerting.ChangeSet](t, "Changes")
	empty := changes(st.Changes(ctx(t), 0))
	if !empty.Full || len(empty.Definitions) != 0 {
		t.Fatalf("Changes(0) of an empty store: %+v", empty)
	}
	put := must[alerting.Definition](t, "PutDefinition")
	a := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: "fence", ID: "a", JSON: []byte(`{"a":1}`)}))
	b := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_two", Kind: "rule", ID: "b", JSON: []byte(`{"b":1}`)}))
	full := changes(st.Changes(ctx(t), 0))
	if !full.Full || len(full.Definitions) != 2 || full.Version != b.Version {
		t.Fatalf("Changes(0): %+v, want both, version %d", full, b.Version)
	}
	none := changes(st.Changes(ctx(t), full.Version))
	if none.Full || len(none.Definitions) != 0 || none.Version != full.Version {
		t.Fatalf("Changes(latest): %+v, want nothing at version %d", none, full.Version)
	}
	must[alerting.Definition](t, "Delete")(st.DeleteDefinition(ctx(t), "team_one", "fence", "a"))
	a2 := put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_two", Kind: "rule", ID: "b", JSON: []byte(`{"b":2}`)}))
	inc := changes(st.Changes(ctx(t), full.Version))
	if inc.Full || len(inc.Definitions) != 2 || inc.Version != a2.Version {
		t.Fatalf("Changes after delete and replace: %+v", inc)
	}
	if d := inc.Definitions[0]; !d.Deleted || d.ID != "a" || d.JSON != nil {
		t.Fatalf("first change %+v, want the tombstone of a", d)
	}
	if d := inc.Definitions[1]; d.Deleted || d.ID != "b" || string(d.JSON) != `{"b":2}` {
		t.Fatalf("second change %+v, want b replaced", d)
	}
	if inc.Definitions[0].Version >= inc.Definitions[1].Version || inc.Definitions[0].Version <= a.Version {
		t.Fatalf("changes not in version order: %+v", inc.Definitions)
	}
	full = changes(st.Changes(ctx(t), 0))
	if len(full.Definitions) != 1 || full.Definitions[0].ID != "b" {
		t.Fatalf("a full change set holds tombstones: %+v", full.Definitions)
	}
}

// A poller following Changes while writers put and delete ends with a
// cache equal to the store's contents: no change is skipped.
func changesConcurrent(t *testing.T, st alerting.Store) {
	const writers, each = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	stop := make(chan struct{})
	cache := map[string]string{}
	var version int64
	poll := func() error {
		cs, err := st.Changes(context.Background(), version)
		if err != nil {
			return err
		}
		if cs.Full {
			clear(cache)
		}
		for _, d := range cs.Definitions {
			if cs.Version < d.Version {
				return fmt.Errorf("change set version %d below a change's %d", cs.Version, d.Version)
			}
			if d.Deleted {
				delete(cache, d.Team+"/"+d.ID)
			} else {
				cache[d.Team+"/"+d.ID] = string(d.JSON)
			}
		}
		version = cs.Version
		return nil
	}
	polled := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				polled <- poll()
				return
			default:
			}
			if err := poll(); err != nil {
				polled <- err
				return
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d := alerting.Definition{Team: fmt.Sprintf("team_%d", w), Kind: "fence", ID: fmt.Sprintf("f%d", i%10), JSON: fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i)}
				var err error
				if i%7 == 6 {
					_, err = st.DeleteDefinition(context.Background(), d.Team, d.Kind, d.ID)
					if tracking.ErrorCode(err) == tracking.CodeNotFound {
						err = nil
					}
				} else {
					_, err = st.PutDefinition(context.Background(), d)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-polled; err != nil {
		t.Fatalf("poll: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	want := map[string]string{}
	for w := range writers {
		list := must[[]alerting.Definition](t, "List")(st.ListDefinitions(ctx(t), fmt.Sprintf("team_%d", w), "fence"))
		for _, d := range list {
			want[d.Team+"/"+d.ID] = string(d.JSON)
		}
	}
	if fmt.Sprint(cache) != fmt.Sprint(want) {
		t.Fatalf("the polled cache differs from the store:\n got %v\nwant %v", cache, want)
	}
}

func pruneTombstones(t *testing.T, st alerting.Store) {
	put := must[alerting.Definition](t, "PutDefinition")
	put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: "fence", ID: "a", JSON: []byte(`{}`)}))
	put(st.PutDefinition(ctx(t), alerting.Definition{Team: "team_one", Kind: "fence", ID: "b", JSON: []byte(`{}`)}))
	old := must[alerting.ChangeSet](t, "Changes")(st.Changes(ctx(t), 0)).Version
	must[alerting.Definition](t, "Delete")(st.DeleteDefinition(ctx(t), "team_one", "fence", "a"))
	if err := st.Prune(ctx(t), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	cs := must[alerting.ChangeSet](t, "Changes")(st.Changes(ctx(t), old))
	if !cs.Full || len(cs.Definitions) != 1 || cs.Definitions[0].ID != "b" {
		t.Fatalf("Changes from before a pruned tombstone: %+v, want Full with b only", cs)
	}
	again := must[alerting.ChangeSet](t, "Changes")(st.Changes(ctx(t), cs.Version))
	if again.Full || len(again.Definitions) != 0 {
		t.Fatalf("Changes after catching up: %+v", again)
	}
}

func eventsPaged(t *testing.T, st alerting.Store) {
	var evs []alerting.Event
	for i := range 30 {
		at := base.Add(time.Duration(i/3) * time.Second) // three events per instant
		evs = append(evs, Event("team_one", fmt.Sprintf("w-%d", i%2), fmt.Sprintf("e-%02d", i), "enter", at))
	}
	rev := slices.Clone(evs)
	slices.Reverse(rev)
	if err := st.AppendEvents(ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	// Again, and an existing id with other content: the first stays.
	changed := evs[4]
	changed.JSON = []byte(`{"changed":true}`)
	if err := st.AppendEvents(ctx(t), append(slices.Clone(evs[:10]), changed)); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_two", "w-0", "e-00", "exit", base)}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 3, 7, 29, 30, 31} {
		var got []alerting.Event
		q := alerting.EventQuery{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: limit}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			p := must[alerting.EventPage](t, "QueryEvents")(st.QueryEvents(ctx(t), q))
			if len(p.Events) > limit {
				t.Fatalf("page of %d, limit %d", len(p.Events), limit)
			}
			got = append(got, p.Events...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		sameEvents(t, fmt.Sprintf("pages of %d", limit), got, evs)
	}
	// [From, To)
	p := must[alerting.EventPage](t, "QueryEvents")(st.QueryEvents(ctx(t), alerting.EventQuery{Team: "team_one",
		From: base.Add(2 * time.Second), To: base.Add(4 * time.Second), Limit: 100}))
	sameEvents(t, "window", p.Events, evs[6:12])
	p = must[alerting.EventPage](t, "QueryEvents")(st.QueryEvents(ctx(t), alerting.EventQuery{Team: "team_two", From: base, To: base.Add(time.Hour), Limit: 100}))
	if len(p.Events) != 1 || p.Events[0].Kind != "exit" {
		t.Fatalf("team_two: %+v", p.Events)
	}
	for _, c := range []struct {
		field string
		edit  func(e *alerting.Event)
	}{
		{"events[0].id", func(e *alerting.Event) { e.ID = "" }},
		{"events[0].team", func(e *alerting.Event) { e.Team = "a b" }},
		{"events[0].worker", func(e *alerting.Event) { e.Worker = "" }},
		{"events[0].kind", func(e *alerting.Event) { e.Kind = "Enter" }},
		{"events[0].time", func(e *alerting.Event) { e.Time = time.Time{} }},
		{"events[0].json", func(e *alerting.Event) { e.JSON = []byte(`{"a":`) }},
	} {
		e := Event("team_one", "w", "x", "enter", base)
		c.edit(&e)
		wantCode(t, "Append with a bad "+c.field, st.AppendEvents(ctx(t), []alerting.Event{e}), tracking.CodeInvalidField, c.field)
	}
}

func eventsBadQueries(t *testing.T, st alerting.Store) {
	good := alerting.EventQuery{Team: "team_one", From: base, To: base.Add(time.Hour), Limit: 10}
	for _, c := range []struct {
		field string
		edit  func(q *alerting.EventQuery)
	}{
		{"team", func(q *alerting.EventQuery) { q.Team = "" }},
		{"from", func(q *alerting.EventQuery) { q.From = time.Time{} }},
		{"to", func(q *alerting.EventQuery) { q.To = q.From }},
		{"limit", func(q *alerting.EventQuery) { q.Limit = 0 }},
		{"cursor", func(q *alerting.EventQuery) { q.Cursor = "zzz" }},
	} {
		q := good
		c.edit(&q)
		_, err := st.QueryEvents(ctx(t), q)
		wantCode(t, "query with a bad "+c.field, err, tracking.CodeInvalidField, c.field)
	}
	if _, err := st.QueryEvents(ctx(t), good); err != nil {
		t.Fatal(err)
	}
}

func webhooksCRUD(t *testing.T, st alerting.Store) {
	put := must[alerting.Webhook](t, "PutWebhook")
	w := put(st.PutWebhook(ctx(t), alerting.Webhook{Team: "team_one", URL: "https://example.com/hook", Secret: "0123456789abcdef", Kinds: []string{"enter", "exit"}, Enabled: true}))
	if w.ID == "" || w.CreatedAt.IsZero() || w.UpdatedAt.IsZero() {
		t.Fatalf("created webhook %+v: want an id and times", w)
	}
	w2 := put(st.PutWebhook(ctx(t), alerting.Webhook{Team: "team_one", URL: "https://example.com/other", Secret: "fedcba9876543210"}))
	if w2.ID == w.ID {
		t.Fatal("two webhooks with one id")
	}
	got := must[alerting.Webhook](t, "GetWebhook")(st.GetWebhook(ctx(t), "team_one", w.ID))
	if got.URL != w.URL || got.Secret != w.Secret || !slices.Equal(got.Kinds, w.Kinds) || !got.Enabled {
		t.Fatalf("Get: %+v, want %+v", got, w)
	}
	// Replace without a secret: the stored one stays.
	upd := put(st.PutWebhook(ctx(t), alerting.Webhook{Team: "team_one", ID: w.ID, URL: "https://example.com/new", Enabled: false}))
	got = must[alerting.Webhook](t, "GetWebhook")(st.GetWebhook(ctx(t), "team_one", w.ID))
	if got.URL != "https://example.com/new" || got.Secret != w.Secret || len(got.Kinds) != 0 || got.Enabled || !got.CreatedAt.Equal(upd.CreatedAt) {
		t.Fatalf("after replace: %+v", got)
	}
	list := must[[]alerting.Webhook](t, "ListWebhooks")(st.ListWebhooks(ctx(t), "team_one"))
	if len(list) != 2 || list[0].ID != w.ID || list[1].ID != w2.ID {
		t.Fatalf("List: %+v", list)
	}
	if l := must[[]alerting.Webhook](t, "ListWebhooks")(st.ListWebhooks(ctx(t), "team_two")); len(l) != 0 {
		t.Fatalf("another team sees %d webhooks", len(l))
	}
	_, err := st.GetWebhook(ctx(t), "team_two", w.ID)
	wantCode(t, "Get from another team", err, tracking.CodeNotFound, "")
	_, err = st.PutWebhook(ctx(t), alerting.Webhook{Team: "team_two", ID: w.ID, URL: "https://x.example"})
	wantCode(t, "Replace from another team", err, tracking.CodeNotFound, "")
	wantCode(t, "Delete from another team", st.DeleteWebhook(ctx(t), "team_two", w.ID), tracking.CodeNotFound, "")
	if err := st.DeleteWebhook(ctx(t), "team_one", w.ID); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetWebhook(ctx(t), "team_one", w.ID)
	wantCode(t, "Get deleted", err, tracking.CodeNotFound, "")
	for _, c := range []struct {
		field string
		w     alerting.Webhook
	}{
		{"url", alerting.Webhook{Team: "team_one", URL: "ftp://x", Secret: "0123456789abcdef"}},
		{"url", alerting.Webhook{Team: "team_one", URL: "", Secret: "0123456789abcdef"}},
		{"secret", alerting.Webhook{Team: "team_one", URL: "https://x.example"}},
		{"secret", alerting.Webhook{Team: "team_one", URL: "https://x.example", Secret: "short"}},
		{"kinds[1]", alerting.Webhook{Team: "team_one", URL: "https://x.example", Secret: "0123456789abcdef", Kinds: []string{"enter", "Bad"}}},
		{"team", alerting.Webhook{Team: "", URL: "https://x.example", Secret: "0123456789abcdef"}},
	} {
		_, err := st.PutWebhook(ctx(t), c.w)
		wantCode(t, "Put with a bad "+c.field, err, tracking.CodeInvalidField, c.field)
	}
}

func hook(t *testing.T, st alerting.Store, team string, kinds []string, enabled bool) alerting.Webhook {
	t.Helper()
	return must[alerting.Webhook](t, "PutWebhook")(st.PutWebhook(ctx(t), alerting.Webhook{Team: team,
		URL: "https://example.com/" + team, Secret: "secret-of-" + team + "-0123456789", Kinds: kinds, Enabled: enabled}))
}

func lease(t *testing.T, st alerting.Store, r alerting.LeaseRequest) []alerting.Delivery {
	t.Helper()
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	if r.For == 0 {
		r.For = time.Minute
	}
	if r.Max == 0 {
		r.Max = 1000
	}
	return must[[]alerting.Delivery](t, "Lease")(st.Lease(ctx(t), r))
}

func appendQueues(t *testing.T, st alerting.Store) {
	all := hook(t, st, "team_one", nil, true)
	enters := hook(t, st, "team_one", []string{"enter", "dwell"}, true)
	hook(t, st, "team_one", nil, false) // disabled: nothing queued
	other := hook(t, st, "team_two", nil, true)
	evs := []alerting.Event{
		Event("team_one", "w-1", "e1", "enter", base),
		Event("team_one", "w-1", "e2", "exit", base.Add(time.Second)),
		Event("team_two", "w-2", "e1", "alone", base),
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil { // a retry queues nothing more
		t.Fatal(err)
	}
	got := lease(t, st, alerting.LeaseRequest{})
	type key struct{ hook, event string }
	seen := map[key]alerting.Delivery{}
	for _, d := range got {
		seen[key{d.WebhookID, d.Team + "/" + d.Event.ID}] = d
	}
	want := []key{{all.ID, "team_one/e1"}, {all.ID, "team_one/e2"}, {enters.ID, "team_one/e1"}, {other.ID, "team_two/e1"}}
	if len(got) != len(want) || len(seen) != len(want) {
		t.Fatalf("leased %d deliveries %v, want %v", len(got), seen, want)
	}
	for _, k := range want {
		d, ok := seen[k]
		if !ok {
			t.Fatalf("no delivery of %s to %s", k.event, k.hook)
		}
		var e alerting.Event
		for _, x := range evs {
			if x.Team+"/"+x.ID == k.event {
				e = x
			}
		}
		sameEvents(t, "leased event", []alerting.Event{d.Event}, []alerting.Event{e})
		w := must[alerting.Webhook](t, "GetWebhook")(st.GetWebhook(ctx(t), d.Team, d.WebhookID))
		if d.URL != w.URL || d.Secret != w.Secret || d.Attempts != 0 || d.Lease == "" || d.ID == 0 {
			t.Fatalf("delivery %+v of webhook %+v", d, w)
		}
	}
	// A webhook created after an event does not get it.
	late := hook(t, st, "team_one", nil, true)
	for _, d := range lease(t, st, alerting.LeaseRequest{Now: time.Now().Add(time.Hour)}) {
		if d.WebhookID == late.ID {
			t.Fatal("a webhook made after the events got them")
		}
	}
}

func leaseExclusive(t *testing.T, st alerting.Store) {
	hook(t, st, "team_one", nil, true)
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_one", "w", "e1", "enter", base), Event("team_one", "w", "e2", "enter", base)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	first := lease(t, st, alerting.LeaseRequest{Now: now, For: time.Minute, Max: 1})
	if len(first) != 1 || !first[0].LeaseUntil.Equal(now.Add(time.Minute).UTC()) && !timeEqual(first[0].LeaseUntil, now.Add(time.Minute)) {
		t.Fatalf("Lease Max 1: %+v", first)
	}
	second := lease(t, st, alerting.LeaseRequest{Now: now, For: time.Minute})
	if len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("second Lease: %+v, want only the other delivery", second)
	}
	if got := lease(t, st, alerting.LeaseRequest{Now: now.Add(59 * time.Second)}); len(got) != 0 {
		t.Fatalf("leased deliveries handed out again before their lease ran out: %+v", got)
	}
	// The first lease runs out: handed out again, and its old holder has lost it.
	again := lease(t, st, alerting.LeaseRequest{Now: now.Add(61 * time.Second), For: time.Minute, Max: 10})
	if len(again) != 2 {
		t.Fatalf("after the leases ran out: %d deliveries, want 2", len(again))
	}
	if err := st.Delivered(ctx(t), first[0]); !errors.Is(err, alerting.ErrLeaseLost) {
		t.Fatalf("Delivered with a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := st.Failed(ctx(t), second[0], now, "x"); !errors.Is(err, alerting.ErrLeaseLost) {
		t.Fatalf("Failed with a lost lease: %v, want ErrLeaseLost", err)
	}
	for _, d := range again {
		if err := st.Delivered(ctx(t), d); err != nil {
			t.Fatalf("Delivered: %v", err)
		}
	}
	if got := lease(t, st, alerting.LeaseRequest{Now: now.Add(time.Hour)}); len(got) != 0 {
		t.Fatalf("delivered deliveries handed out again: %+v", got)
	}
	if err := st.Delivered(ctx(t), again[0]); !errors.Is(err, alerting.ErrLeaseLost) {
		t.Fatalf("Delivered twice: %v, want ErrLeaseLost", err)
	}
	_, err := st.Lease(ctx(t), alerting.LeaseRequest{Now: now, For: time.Minute})
	wantCode(t, "Lease with no Max", err, tracking.CodeInvalidField, "max")
}

func leasePerWebhook(t *testing.T, st alerting.Store) {
	a := hook(t, st, "team_one", nil, true)
	b := hook(t, st, "team_two", nil, true)
	var evs []alerting.Event
	for i := range 10 {
		evs = append(evs, Event("team_one", "w", fmt.Sprintf("a%d", i), "enter", base), Event("team_two", "w", fmt.Sprintf("b%d", i), "enter", base))
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	got := lease(t, st, alerting.LeaseRequest{Now: now, Max: 100, PerWebhook: 3})
	count := map[string]int{}
	for _, d := range got {
		count[d.WebhookID]++
	}
	if count[a.ID] != 3 || count[b.ID] != 3 {
		t.Fatalf("PerWebhook 3: %v", count)
	}
	got = lease(t, st, alerting.LeaseRequest{Now: now, Max: 100, Skip: []string{a.ID}})
	for _, d := range got {
		if d.WebhookID == a.ID {
			t.Fatal("a skipped webhook's delivery was leased")
		}
	}
	if len(got) != 7 {
		t.Fatalf("leased %d of b's remaining 7", len(got))
	}
}

func failedAndDead(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_one", "w", "e1", "enter", base)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d := lease(t, st, alerting.LeaseRequest{Now: now})[0]
	if err := st.Failed(ctx(t), d, now.Add(time.Hour), "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if got := lease(t, st, alerting.LeaseRequest{Now: now.Add(59 * time.Minute)}); len(got) != 0 {
		t.Fatal("a failed delivery was handed out before its retry time")
	}
	d = lease(t, st, alerting.LeaseRequest{Now: now.Add(time.Hour)})[0]
	if d.Attempts != 1 {
		t.Fatalf("attempts %d after one failure", d.Attempts)
	}
	if err := st.Failed(ctx(t), d, time.Time{}, "connection refused"); err != nil {
		t.Fatal(err)
	}
	if got := lease(t, st, alerting.LeaseRequest{Now: now.Add(100 * time.Hour)}); len(got) != 0 {
		t.Fatal("a dead letter was handed out")
	}
	p := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 10}))
	if len(p.DeadLetters) != 1 || p.Next != "" {
		t.Fatalf("dead letters: %+v", p)
	}
	dl := p.DeadLetters[0]
	if dl.ID != d.ID || dl.Attempts != 2 || dl.LastError != "connection refused" || dl.DeadAt.IsZero() || dl.Event.ID != "e1" || dl.WebhookID != w.ID {
		t.Fatalf("dead letter %+v", dl)
	}
	_, err := st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_two", WebhookID: w.ID, Limit: 10})
	wantCode(t, "dead letters of another team's webhook", err, tracking.CodeNotFound, "")
	_, err = st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 10, Cursor: "!"})
	wantCode(t, "dead letters with a bad cursor", err, tracking.CodeInvalidField, "cursor")
}

// kill leases every due delivery and makes each a dead letter.
func kill(t *testing.T, st alerting.Store, now time.Time) []alerting.Delivery {
	t.Helper()
	ds := lease(t, st, alerting.LeaseRequest{Now: now})
	for _, d := range ds {
		if err := st.Failed(ctx(t), d, time.Time{}, "gave up"); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

func replay(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	var evs []alerting.Event
	for i := range 7 {
		evs = append(evs, Event("team_one", "w", fmt.Sprintf("e%d", i), "enter", base.Add(time.Duration(i)*time.Second)))
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	dead := kill(t, st, time.Now())
	if len(dead) != 7 {
		t.Fatalf("%d dead letters", len(dead))
	}
	// Paged, oldest first.
	var ids []int64
	q := alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t), q))
		for _, dl := range p.DeadLetters {
			ids = append(ids, dl.ID)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(ids) != 7 || !slices.IsSorted(ids) {
		t.Fatalf("dead letter ids %v", ids)
	}
	if n, err := st.Replay(ctx(t), "team_two", w.ID, nil); tracking.ErrorCode(err) != tracking.CodeNotFound || n != 0 {
		t.Fatalf("Replay of another team's webhook: %d, %v", n, err)
	}
	n := must[int](t, "Replay")(st.Replay(ctx(t), "team_one", w.ID, []int64{ids[0], ids[2], 999999999}))
	if n != 2 {
		t.Fatalf("Replay of 2 ids put back %d", n)
	}
	got := lease(t, st, alerting.LeaseRequest{Now: time.Now().Add(time.Second)})
	if len(got) != 2 || got[0].Attempts != 0 {
		t.Fatalf("after Replay: %+v", got)
	}
	for _, d := range got {
		if err := st.Delivered(ctx(t), d); err != nil {
			t.Fatal(err)
		}
	}
	n = must[int](t, "Replay")(st.Replay(ctx(t), "team_one", w.ID, nil))
	if n != 5 {
		t.Fatalf("Replay of all put back %d, want 5", n)
	}
	if p := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 10})); len(p.DeadLetters) != 0 {
		t.Fatalf("dead letters after Replay of all: %+v", p.DeadLetters)
	}
	if got := lease(t, st, alerting.LeaseRequest{Now: time.Now().Add(time.Second)}); len(got) != 5 {
		t.Fatalf("after Replay of all: %d due", len(got))
	}
}

func concurrentLeases(t *testing.T, st alerting.Store) {
	hook(t, st, "team_one", nil, true)
	hook(t, st, "team_two", nil, true)
	var evs []alerting.Event
	for i := range 100 {
		evs = append(evs, Event("team_one", "w", fmt.Sprintf("e%03d", i), "enter", base), Event("team_two", "w", fmt.Sprintf("e%03d", i), "enter", base))
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	now := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := st.Lease(context.Background(), alerting.LeaseRequest{Now: now, For: time.Hour, Max: 7})
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					got[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != 200 {
		t.Fatalf("%d deliveries leased, want 200", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("delivery %d leased %d times under one lease", id, n)
		}
	}
}

func deleteWebhookDrops(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	keep := hook(t, st, "team_one", nil, true)
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_one", "w", "e1", "enter", base), Event("team_one", "w", "e2", "enter", base)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d := lease(t, st, alerting.LeaseRequest{Now: now, Max: 1})
	kill(t, st, now) // the other three die
	_ = d
	if err := st.DeleteWebhook(ctx(t), "team_one", w.ID); err != nil {
		t.Fatal(err)
	}
	n := must[int](t, "Replay")(st.Replay(ctx(t), "team_one", keep.ID, nil))
	got := lease(t, st, alerting.LeaseRequest{Now: now.Add(2 * time.Hour)})
	for _, x := range got {
		if x.WebhookID == w.ID {
			t.Fatal("a deleted webhook's delivery was leased")
		}
	}
	if len(got) != n {
		t.Fatalf("%d leased after replaying %d of the kept webhook", len(got), n)
	}
}

func pruneEvents(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	old, recent := Event("team_one", "w", "old", "enter", base.Add(-48*time.Hour)), Event("team_one", "w", "new", "enter", base)
	if err := st.AppendEvents(ctx(t), []alerting.Event{old, recent}); err != nil {
		t.Fatal(err)
	}
	kill(t, st, time.Now())
	if err := st.Prune(ctx(t), base.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := must[alerting.EventPage](t, "QueryEvents")(st.QueryEvents(ctx(t), alerting.EventQuery{Team: "team_one", From: base.Add(-72 * time.Hour), To: base.Add(time.Hour), Limit: 10}))
	sameEvents(t, "after Prune", p.Events, []alerting.Event{recent})
	dl := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Limit: 10}))
	if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Event.ID != "new" {
		t.Fatalf("dead letters after Prune: %+v", dl.DeadLetters)
	}
}

func readyClose(t *testing.T, st alerting.Store) {
	if err := st.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_one", "w", "e", "enter", base)}); err == nil {
		t.Fatal("AppendEvents after Close succeeded")
	}
}
