package alertingtest

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// pushCases are the cases of push subscriptions, run by Run with the others.
var pushCases = []struct {
	name string
	run  func(t *testing.T, st alerting.Store)
}{
	{"PushSubscriptionsCRUD", pushCRUD},
	{"PushAndWebhooksStayApart", pushApart},
	{"PushSubscriptionsValidated", pushValidated},
	{"AppendQueuesPushSubscriptions", pushQueued},
	{"PushDeadLettersAndDelete", pushDeadAndDelete},
	{"VAPIDKeysStoredOnce", vapidOnce},
}

// PushKeys returns a fresh subscriber's keys as a browser gives them:
// p256dh (a P-256 public key, uncompressed) and auth (16 random bytes), in
// unpadded base64url.
func PushKeys(t testing.TB) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)
}

func subscription(t *testing.T, team, endpoint string, kinds ...string) alerting.PushSubscription {
	p, a := PushKeys(t)
	return alerting.PushSubscription{Team: team, Endpoint: endpoint, P256dh: p, Auth: a, Subject: "manager-1", Kinds: kinds}
}

func putPush(t *testing.T, st alerting.Store, p alerting.PushSubscription, wantCreated bool) alerting.PushSubscription {
	t.Helper()
	saved, created, err := st.PutPushSubscription(ctx(t), p)
	if err != nil {
		t.Fatalf("PutPushSubscription: %v", err)
	}
	if created != wantCreated {
		t.Fatalf("PutPushSubscription of %s: created %v, want %v", p.Endpoint, created, wantCreated)
	}
	return saved
}

func samePush(t *testing.T, what string, got, want alerting.PushSubscription) {
	t.Helper()
	if got.ID != want.ID || got.Team != want.Team || got.Endpoint != want.Endpoint || got.P256dh != want.P256dh ||
		got.Auth != want.Auth || got.Subject != want.Subject || !slices.Equal(got.Kinds, want.Kinds) ||
		!timeEqual(got.CreatedAt, want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
}

func pushCRUD(t *testing.T, st alerting.Store) {
	const endpoint = "https://push.example.com/send/abc"
	first := subscription(t, "team_one", endpoint, "enter", "exit")
	p := putPush(t, st, first, true)
	if !strings.HasPrefix(p.ID, "ps_") || p.CreatedAt.IsZero() || p.UpdatedAt.IsZero() || p.P256dh != first.P256dh {
		t.Fatalf("created subscription %+v", p)
	}
	samePush(t, "Get", must[alerting.PushSubscription](t, "GetPushSubscription")(st.GetPushSubscription(ctx(t), "team_one", p.ID)), p)

	// The browser subscribes again (new keys, another manager): the same
	// subscription, its keys replaced.
	again := subscription(t, "team_one", endpoint)
	again.Subject = "manager-2"
	q := putPush(t, st, again, false)
	if q.ID != p.ID || !timeEqual(q.CreatedAt, p.CreatedAt) || q.UpdatedAt.Before(p.UpdatedAt) {
		t.Fatalf("subscribing again gave %+v, want the id and creation of %+v", q, p)
	}
	got := must[alerting.PushSubscription](t, "GetPushSubscription")(st.GetPushSubscription(ctx(t), "team_one", p.ID))
	if got.P256dh != again.P256dh || got.Auth != again.Auth || got.Subject != "manager-2" || len(got.Kinds) != 0 {
		t.Fatalf("after subscribing again: %+v, want the new keys, subject and kinds", got)
	}

	// The same endpoint in another team is another subscription.
	other := putPush(t, st, subscription(t, "team_two", endpoint), true)
	if other.ID == p.ID {
		t.Fatal("one id for the subscriptions of two teams")
	}
	second := putPush(t, st, subscription(t, "team_one", "https://push.example.com/send/def"), true)
	list := must[[]alerting.PushSubscription](t, "ListPushSubscriptions")(st.ListPushSubscriptions(ctx(t), "team_one"))
	if len(list) != 2 || list[0].ID != p.ID || list[1].ID != second.ID {
		t.Fatalf("List team_one: %+v", list)
	}
	if l := must[[]alerting.PushSubscription](t, "ListPushSubscriptions")(st.ListPushSubscriptions(ctx(t), "team_three")); len(l) != 0 {
		t.Fatalf("another team lists %d subscriptions", len(l))
	}
	_, err := st.GetPushSubscription(ctx(t), "team_two", p.ID)
	wantCode(t, "Get from another team", err, tracking.CodeNotFound, "")
	wantCode(t, "Delete from another team", st.DeletePushSubscription(ctx(t), "team_two", p.ID), tracking.CodeNotFound, "")
	if err := st.DeletePushSubscription(ctx(t), "team_one", p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetPushSubscription(ctx(t), "team_one", p.ID)
	wantCode(t, "Get deleted", err, tracking.CodeNotFound, "")
	wantCode(t, "Delete deleted", st.DeletePushSubscription(ctx(t), "team_one", p.ID), tracking.CodeNotFound, "")
	// Subscribing after a delete makes a new one.
	if n := putPush(t, st, subscription(t, "team_one", endpoint), true); n.ID == p.ID {
		t.Fatal("a deleted subscription's id came back")
	}
	_, err = st.GetPushSubscription(ctx(t), "team_one", "bad id")
	wantCode(t, "Get with a bad id", err, tracking.CodeInvalidField, "id")
}

// The webhook methods see no push subscription and the push methods no
// webhook, so that /webhooks and /push/subscriptions list and address only
// their own.
func pushApart(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	p := putPush(t, st, subscription(t, "team_one", "https://push.example.com/x"), true)
	if l := must[[]alerting.Webhook](t, "ListWebhooks")(st.ListWebhooks(ctx(t), "team_one")); len(l) != 1 || l[0].ID != w.ID {
		t.Fatalf("ListWebhooks: %+v, want only the webhook", l)
	}
	if l := must[[]alerting.PushSubscription](t, "ListPushSubscriptions")(st.ListPushSubscriptions(ctx(t), "team_one")); len(l) != 1 || l[0].ID != p.ID {
		t.Fatalf("ListPushSubscriptions: %+v, want only the subscription", l)
	}
	_, err := st.GetWebhook(ctx(t), "team_one", p.ID)
	wantCode(t, "GetWebhook of a push subscription", err, tracking.CodeNotFound, "")
	_, err = st.PutWebhook(ctx(t), alerting.Webhook{Team: "team_one", ID: p.ID, URL: "https://x.example", Enabled: true})
	wantCode(t, "PutWebhook over a push subscription", err, tracking.CodeNotFound, "")
	wantCode(t, "DeleteWebhook of a push subscription", st.DeleteWebhook(ctx(t), "team_one", p.ID), tracking.CodeNotFound, "")
	_, err = st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: p.ID, Limit: 10})
	wantCode(t, "webhook dead letters of a push subscription", err, tracking.CodeNotFound, "")
	_, err = st.Replay(ctx(t), "team_one", p.ID, nil)
	wantCode(t, "Replay of a push subscription", err, tracking.CodeNotFound, "")
	_, err = st.GetPushSubscription(ctx(t), "team_one", w.ID)
	wantCode(t, "GetPushSubscription of a webhook", err, tracking.CodeNotFound, "")
	wantCode(t, "DeletePushSubscription of a webhook", st.DeletePushSubscription(ctx(t), "team_one", w.ID), tracking.CodeNotFound, "")
	_, err = st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: w.ID, Target: alerting.TargetWebPush, Limit: 10})
	wantCode(t, "push dead letters of a webhook", err, tracking.CodeNotFound, "")
	// Both are still there.
	must[alerting.Webhook](t, "GetWebhook")(st.GetWebhook(ctx(t), "team_one", w.ID))
	must[alerting.PushSubscription](t, "GetPushSubscription")(st.GetPushSubscription(ctx(t), "team_one", p.ID))
}

func pushValidated(t *testing.T, st alerting.Store) {
	p256dh, auth := PushKeys(t)
	raw, _ := base64.RawURLEncoding.DecodeString(p256dh)
	notOnCurve := base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...))
	for _, c := range []struct {
		field string
		edit  func(p *alerting.PushSubscription)
	}{
		{"team", func(p *alerting.PushSubscription) { p.Team = "a team" }},
		{"endpoint", func(p *alerting.PushSubscription) { p.Endpoint = "" }},
		{"endpoint", func(p *alerting.PushSubscription) { p.Endpoint = "ftp://push.example.com/x" }},
		{"endpoint", func(p *alerting.PushSubscription) { p.Endpoint = "/send/x" }},
		{"endpoint", func(p *alerting.PushSubscription) { p.Endpoint = "http://push.example.com/x" }},
		{"endpoint", func(p *alerting.PushSubscription) { p.Endpoint = "https://u:pw@push.example.com/x" }},
		{"endpoint", func(p *alerting.PushSubscription) {
			p.Endpoint = "https://push.example.com/" + strings.Repeat("x", alerting.MaxURL)
		}},
		{"keys.p256dh", func(p *alerting.PushSubscription) { p.P256dh = "" }},
		{"keys.p256dh", func(p *alerting.PushSubscription) { p.P256dh = "not base64!" }},
		{"keys.p256dh", func(p *alerting.PushSubscription) { p.P256dh = base64.RawURLEncoding.EncodeToString(raw[:33]) }},
		{"keys.p256dh", func(p *alerting.PushSubscription) { p.P256dh = notOnCurve }},
		{"keys.auth", func(p *alerting.PushSubscription) { p.Auth = "" }},
		{"keys.auth", func(p *alerting.PushSubscription) { p.Auth = base64.RawURLEncoding.EncodeToString(make([]byte, 12)) }},
		{"keys.auth", func(p *alerting.PushSubscription) { p.Auth = "%%%" }},
		{"subject", func(p *alerting.PushSubscription) { p.Subject = strings.Repeat("s", alerting.MaxSubject+1) }},
		{"kinds[1]", func(p *alerting.PushSubscription) { p.Kinds = []string{"enter", "Exit"} }},
	} {
		p := alerting.PushSubscription{Team: "team_one", Endpoint: "https://push.example.com/x", P256dh: p256dh, Auth: auth}
		c.edit(&p)
		_, _, err := st.PutPushSubscription(ctx(t), p)
		wantCode(t, fmt.Sprintf("Put with a bad %s (%.40q)", c.field, p.Endpoint+" "+p.P256dh+" "+p.Auth), err, tracking.CodeInvalidField, c.field)
	}
	if l := must[[]alerting.PushSubscription](t, "List")(st.ListPushSubscriptions(ctx(t), "team_one")); len(l) != 0 {
		t.Fatalf("refused subscriptions were stored: %+v", l)
	}
	// Keys in padded standard base64 are taken, and stored as base64url;
	// http to a loopback host is taken (a push service a test runs).
	a, _ := base64.RawURLEncoding.DecodeString(auth)
	p := putPush(t, st, alerting.PushSubscription{Team: "team_one", Endpoint: "http://127.0.0.1:9/push/x",
		P256dh: base64.StdEncoding.EncodeToString(raw), Auth: base64.StdEncoding.EncodeToString(a)}, true)
	got := must[alerting.PushSubscription](t, "Get")(st.GetPushSubscription(ctx(t), "team_one", p.ID))
	if got.P256dh != p256dh || got.Auth != auth || got.Subject != "" {
		t.Fatalf("stored keys %q %q, want %q %q", got.P256dh, got.Auth, p256dh, auth)
	}
}

func pushQueued(t *testing.T, st alerting.Store) {
	w := hook(t, st, "team_one", nil, true)
	all := putPush(t, st, subscription(t, "team_one", "https://push.example.com/all"), true)
	dwells := putPush(t, st, subscription(t, "team_one", "https://push.example.com/dwells", "dwell"), true)
	other := putPush(t, st, subscription(t, "team_two", "https://push.example.com/all"), true)
	evs := []alerting.Event{
		Event("team_one", "w-1", "e1", "enter", base),
		Event("team_one", "w-1", "e2", "dwell", base.Add(time.Minute)),
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvents(ctx(t), evs); err != nil { // a retry queues nothing more
		t.Fatal(err)
	}
	got := lease(t, st, alerting.LeaseRequest{For: time.Hour})
	seen := map[string]alerting.Delivery{}
	for _, d := range got {
		seen[d.WebhookID+" "+d.Event.ID] = d
	}
	want := []string{w.ID + " e1", w.ID + " e2", all.ID + " e1", all.ID + " e2", dwells.ID + " e2"}
	if len(got) != len(want) || len(seen) != len(want) {
		t.Fatalf("leased %d deliveries (%v), want %v", len(got), slices.Collect(mapKeys(seen)), want)
	}
	for _, k := range want {
		d, ok := seen[k]
		if !ok {
			t.Fatalf("no delivery %s", k)
		}
		if d.WebhookID == w.ID {
			if d.Target != alerting.TargetWebhook || d.Secret != w.Secret || d.URL != w.URL || d.P256dh != "" || d.Auth != "" {
				t.Fatalf("webhook delivery %+v", d)
			}
			continue
		}
		p := must[alerting.PushSubscription](t, "Get")(st.GetPushSubscription(ctx(t), "team_one", d.WebhookID))
		if d.Target != alerting.TargetWebPush || d.URL != p.Endpoint || d.P256dh != p.P256dh || d.Auth != p.Auth || d.Secret != "" || d.Team != "team_one" {
			t.Fatalf("push delivery %+v of %+v", d, p)
		}
		for _, e := range evs {
			if e.ID == d.Event.ID {
				sameEvents(t, "pushed event", []alerting.Event{d.Event}, []alerting.Event{e})
			}
		}
	}
	if _, ok := seen[other.ID+" e1"]; ok {
		t.Fatal("another team's subscription got the events")
	}
	// Subscribing again after the events does not queue them again, and
	// the keys of a queued delivery are the subscription's latest.
	renewed := subscription(t, "team_one", "https://push.example.com/dwells", "dwell")
	putPush(t, st, renewed, false)
	for _, d := range got {
		if d.WebhookID == dwells.ID {
			if err := st.Failed(ctx(t), d, time.Now(), "HTTP 503"); err != nil {
				t.Fatal(err)
			}
		}
	}
	again := lease(t, st, alerting.LeaseRequest{Now: time.Now().Add(time.Second)})
	if len(again) != 1 || again[0].WebhookID != dwells.ID || again[0].P256dh != renewed.P256dh || again[0].Auth != renewed.Auth || again[0].Attempts != 1 {
		t.Fatalf("after the subscription was renewed: %+v, want its one retry with the new keys", again)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func pushDeadAndDelete(t *testing.T, st alerting.Store) {
	p := putPush(t, st, subscription(t, "team_one", "https://push.example.com/x"), true)
	keep := putPush(t, st, subscription(t, "team_one", "https://push.example.com/y"), true)
	if err := st.AppendEvents(ctx(t), []alerting.Event{Event("team_one", "w", "e1", "enter", base), Event("team_one", "w", "e2", "exit", base)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ds := lease(t, st, alerting.LeaseRequest{Now: now})
	if len(ds) != 4 {
		t.Fatalf("leased %d, want 4", len(ds))
	}
	var held alerting.Delivery
	for _, d := range ds {
		switch {
		case d.WebhookID == p.ID && d.Event.ID == "e1":
			if err := st.Failed(ctx(t), d, time.Time{}, "HTTP 413"); err != nil {
				t.Fatal(err)
			}
		case d.WebhookID == p.ID:
			held = d
		default:
			if err := st.Failed(ctx(t), d, time.Time{}, "HTTP 400"); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t),
		alerting.DeadLetterQuery{Team: "team_one", WebhookID: p.ID, Target: alerting.TargetWebPush, Limit: 10}))
	if len(page.DeadLetters) != 1 || page.DeadLetters[0].Event.ID != "e1" || page.DeadLetters[0].LastError != "HTTP 413" || page.DeadLetters[0].WebhookID != p.ID {
		t.Fatalf("push dead letters: %+v", page)
	}
	_, err := st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: p.ID, Target: "sms", Limit: 10})
	wantCode(t, "dead letters of an unknown target", err, tracking.CodeInvalidField, "target")
	// The push service said the subscription is gone, while one of its
	// deliveries is leased: deleted with its deliveries and dead letters.
	if err := st.DeletePushSubscription(ctx(t), "team_one", p.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Delivered(ctx(t), held); !errors.Is(err, alerting.ErrLeaseLost) {
		t.Fatalf("Delivered of a deleted subscription's delivery: %v, want ErrLeaseLost", err)
	}
	_, err = st.DeadLetters(ctx(t), alerting.DeadLetterQuery{Team: "team_one", WebhookID: p.ID, Target: alerting.TargetWebPush, Limit: 10})
	wantCode(t, "dead letters of a deleted subscription", err, tracking.CodeNotFound, "")
	if got := lease(t, st, alerting.LeaseRequest{Now: now.Add(2 * time.Hour)}); len(got) != 0 {
		t.Fatalf("after the delete: %+v leased", got)
	}
	kept := must[alerting.DeadLetterPage](t, "DeadLetters")(st.DeadLetters(ctx(t),
		alerting.DeadLetterQuery{Team: "team_one", WebhookID: keep.ID, Target: alerting.TargetWebPush, Limit: 10}))
	if len(kept.DeadLetters) != 2 {
		t.Fatalf("the other subscription's dead letters: %+v", kept)
	}
}

func vapidOnce(t *testing.T, st alerting.Store) {
	a := alerting.VAPIDKeys{Public: "public-a", Private: "private-a"}
	b := alerting.VAPIDKeys{Public: "public-b", Private: "private-b"}
	if _, err := st.VAPIDKeys(ctx(t), alerting.VAPIDKeys{}); err == nil {
		t.Fatal("VAPIDKeys took an empty candidate")
	}
	// Replicas starting at once: one pair wins, every one gets it.
	var wg sync.WaitGroup
	got := make([]alerting.VAPIDKeys, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.VAPIDKeys(ctx(t), alerting.VAPIDKeys{Public: fmt.Sprint("public-", i), Private: fmt.Sprint("private-", i)})
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("VAPIDKeys: %v", errs[i])
		}
		if got[i] != got[0] || got[i].IsZero() || strings.TrimPrefix(got[i].Public, "public-") != strings.TrimPrefix(got[i].Private, "private-") {
			t.Fatalf("replicas got %+v", got)
		}
	}
	for _, c := range []alerting.VAPIDKeys{a, b} {
		if k := must[alerting.VAPIDKeys](t, "VAPIDKeys")(st.VAPIDKeys(ctx(t), c)); k != got[0] {
			t.Fatalf("VAPIDKeys(%+v) later: %+v, want the first stored %+v", c, k, got[0])
		}
	}
}
