package view_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
)

// fakePush stands in for the tracking service's Web Push routes
// (tracking-core/httpapi/push.go): GET .../push/key gives a VAPID public
// key, POST .../push/subscriptions stores a browser's subscription (201
// with its id; 200 when the team has that endpoint already), DELETE
// .../push/subscriptions/{id} removes it (204). It records what the page
// sent.
type fakePush struct {
	publicKey string // unpadded base64url of an uncompressed P-256 point

	mu      sync.Mutex
	keyGets int
	subs    map[string]pushSubscription // by id
	posts   []pushSubscription
	deletes []string
}

// pushSubscription is PushSubscription.toJSON() of the browser.
type pushSubscription struct {
	Endpoint       string          `json:"endpoint"`
	ExpirationTime json.RawMessage `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

func newFakePush(t *testing.T) *fakePush {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePush{publicKey: base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()), subs: map[string]pushSubscription{}}
}

func (f *fakePush) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /tracking/{strategy}/{team}/push/key", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.keyGets++
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"publicKey": f.publicKey})
	})
	mux.HandleFunc("POST /tracking/{strategy}/{team}/push/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		var s pushSubscription
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields() // as the service: unknown fields are refused
		if err := dec.Decode(&s); err != nil || s.Endpoint == "" || s.Keys.P256dh == "" || s.Keys.Auth == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_field", "message": fmt.Sprintf("endpoint: a subscription is required (%v)", err)})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.posts = append(f.posts, s)
		for id, had := range f.subs {
			if had.Endpoint == s.Endpoint {
				f.subs[id] = s
				writeJSON(w, http.StatusOK, map[string]string{"id": id, "endpoint": s.Endpoint})
				return
			}
		}
		id := fmt.Sprintf("ps_%d", len(f.posts))
		f.subs[id] = s
		w.Header().Set("Location", "subscriptions/"+id)
		writeJSON(w, http.StatusCreated, map[string]string{"id": id, "endpoint": s.Endpoint})
	})
	mux.HandleFunc("DELETE /tracking/{strategy}/{team}/push/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.PathValue("id")
		f.deletes = append(f.deletes, id)
		if _, ok := f.subs[id]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"code": "not_found", "message": "no such push subscription"})
			return
		}
		delete(f.subs, id)
		w.WriteHeader(http.StatusNoContent)
	})
}

// subscriber is the browser's side of a push subscription, as a push
// service hands it out: a fresh P-256 key pair and authentication secret,
// and an endpoint on the push service.
func subscriber(t *testing.T, endpoint string) pushSubscription {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	s := pushSubscription{Endpoint: endpoint, ExpirationTime: json.RawMessage("null")}
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes())
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	return s
}

// pushManagerStub replaces PushManager's subscribe and getSubscription in
// the page, and nothing else: headless Chromium has no push service to
// subscribe with (it has no network, and no Google push service
// credentials). subscribe records the applicationServerKey it was given
// (window.__pushStub.key, base64url) and returns a subscription whose
// toJSON() is the one a push service run by the test handed out (%s);
// unsubscribe counts (window.__pushStub.unsubscribed). The service worker,
// its registration, the permission and the notifications are the real
// ones.
const pushManagerStub = `(() => {
	const json = %s;
	const stub = window.__pushStub = {key: "", subscribes: 0, unsubscribed: 0};
	let current = null;
	const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) %% 4)), (c) => c.charCodeAt(0)).buffer;
	PushManager.prototype.subscribe = async function (options) {
		stub.subscribes++;
		const key = options.applicationServerKey;
		stub.key = b64url(key instanceof ArrayBuffer ? key : key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength));
		current = {
			endpoint: json.endpoint,
			expirationTime: null,
			options: {userVisibleOnly: options.userVisibleOnly, applicationServerKey: bytes(stub.key)},
			getKey: (name) => bytes(json.keys[name]),
			toJSON: () => json,
			unsubscribe: async () => { current = null; stub.unsubscribed++; return true; },
		};
		return current;
	};
	PushManager.prototype.getSubscription = async function () { return current; };
})()`

// pushView is what the test hook says of the notifications toggle.
type pushView struct {
	State    string `json:"state"`
	Message  string `json:"message"`
	Endpoint string `json:"endpoint"`
	ID       string `json:"id"`
}

func waitPush(t *testing.T, ctx context.Context, what string, ok func(*pushView) bool) *pushView {
	t.Helper()
	return waitHook(t, ctx, what, 10*time.Second, `window.__tracking ? window.__tracking.push() : null`,
		func(v *pushView) bool { return v != nil && ok(v) })
}

// TestBrowserNotifications turns the notifications toggle on as a manager
// does (the permission granted through the DevTools protocol, as a click
// on the browser's prompt would): the view registers its service worker
// (/sw.js, scope /), reads the VAPID key, subscribes with it and gives the
// subscription to the service. A push of an alert record to the service
// worker (ServiceWorker.deliverPushMessage, what the browser does when its
// push service delivers one) shows a notification whose title is the
// worker and the kind and whose body is the fence and the team, with the
// map closed (the page navigated away). Turning the toggle off deletes the
// subscription at the service and unsubscribes the browser.
//
// The service's push routes are a fake (fakePush) in front of a real
// replica, and pushManager.subscribe is stubbed (pushManagerStub):
// headless Chromium cannot reach a push service.
func TestBrowserNotifications(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	push := newFakePush(t)
	p := startPlatform(t, platformOptions{alerts: true, routes: push.routes})
	sub := subscriber(t, "http://127.0.0.1:9/push/test-subscriber") // a push service the test would run

	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: p.URL,
	}); err != nil {
		t.Fatal(err)
	}
	subJSON, _ := json.Marshal(sub)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: fmt.Sprintf(pushManagerStub, subJSON),
	}); err != nil {
		t.Fatal(err)
	}
	// The service worker's registrations, as the browser reports them.
	var regMu sync.Mutex
	var regs []*serviceworker.Registration
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			regMu.Lock()
			regs = append(regs, e.Registrations...)
			regMu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitPush(t, ctx, "the toggle ready", func(v *pushView) bool { return v.State == "off" })
	click(t, ctx, "tab-alerts")
	click(t, ctx, "notify")
	on := waitPush(t, ctx, "notifications on", func(v *pushView) bool { return v.State == "on" || v.State == "failed" })
	if on.State != "on" || on.Endpoint != sub.Endpoint || on.ID != "ps_1" || !strings.Contains(on.Message, "team_one") {
		t.Fatalf("after the toggle: %+v", on)
	}
	if key := evaluate[string](t, ctx, `window.__pushStub.key`); key != push.publicKey {
		t.Errorf("subscribed with applicationServerKey %q, want the service's VAPID key %q", key, push.publicKey)
	}
	push.mu.Lock()
	posts, keyGets := append([]pushSubscription(nil), push.posts...), push.keyGets
	push.mu.Unlock()
	if keyGets != 1 || len(posts) != 1 || posts[0].Endpoint != sub.Endpoint || posts[0].Keys != sub.Keys {
		t.Errorf("the service got %d key requests and the subscriptions %+v, want 1 and %+v", keyGets, posts, sub)
	}
	sw, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ Scope, Script, State string }](
		`navigator.serviceWorker.getRegistration("/").then((r) => ({scope: r.scope, script: r.active.scriptURL, state: r.active.state}))`, chromedp.EvalAwaitPromise))
	if err != nil || sw.Scope != p.URL+"/" || sw.Script != p.URL+"/sw.js" || sw.State != "activated" {
		t.Fatalf("the service worker: %+v, %v; want /sw.js active with scope /", sw, err)
	}

	// The map closed: the page goes elsewhere, the service worker stays.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	var regID serviceworker.RegistrationID
	waitFor(t, "the service worker's registration id", 5*time.Second, func() bool {
		regMu.Lock()
		defer regMu.Unlock()
		for _, r := range regs {
			if r.ScopeURL == p.URL+"/" && !r.IsDeleted {
				regID = r.RegistrationID
			}
		}
		return regID != ""
	})
	alert := `{"id":"6f1c0a51-5a4e-8c1b-9d7e-2b6a0f4c1e77","kind":"enter","team":"team_one","workerId":"w-17","fenceId":"depot","name":"Depot",` +
		`"location":{"latitude":-23.55,"longitude":-46.63},"timeStamp":"2026-11-22T13:21:04.123Z"}`
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: p.URL, RegistrationID: regID, Data: alert,
	}); err != nil {
		t.Fatal(err)
	}
	// Back on the map: the notification is the registration's, the toggle
	// is on (and gave the subscription to the service again).
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	type notification struct{ Title, Body, Tag string }
	var shown []notification
	waitFor(t, "the notification", 5*time.Second, func() bool {
		shown, err = chromedp.Run(ctx, chromedp.Evaluate[[]notification](
			`navigator.serviceWorker.getRegistration("/").then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({title: n.title, body: n.body, tag: n.tag})))`,
			chromedp.EvalAwaitPromise))
		return err == nil && len(shown) > 0
	})
	want := notification{Title: "w-17 entered", Body: "Depot · team_one", Tag: "6f1c0a51-5a4e-8c1b-9d7e-2b6a0f4c1e77"}
	if len(shown) != 1 || shown[0] != want {
		t.Errorf("notifications %+v, want %+v", shown, want)
	}

	// Turned off, the subscription goes.
	waitPush(t, ctx, "notifications on after a reload", func(v *pushView) bool { return v.State == "on" && v.ID == "ps_1" })
	click(t, ctx, "tab-alerts")
	click(t, ctx, "notify")
	off := waitPush(t, ctx, "notifications off", func(v *pushView) bool { return v.State == "off" || v.State == "failed" })
	if off.State != "off" || off.ID != "" {
		t.Errorf("after the toggle off: %+v", off)
	}
	push.mu.Lock()
	deletes, left := append([]string(nil), push.deletes...), len(push.subs)
	posts = append([]pushSubscription(nil), push.posts...)
	push.mu.Unlock()
	if len(deletes) != 1 || deletes[0] != "ps_1" || left != 0 || len(posts) != 2 {
		t.Errorf("the service got DELETEs %v (%d subscriptions left) and %d POSTs; want ps_1 deleted, none left, and the subscription posted again at the reload", deletes, left, len(posts))
	}
	if n := evaluate[int](t, ctx, `window.__pushStub.unsubscribed`); n != 1 {
		t.Errorf("the browser's subscription was unsubscribed %d times, want 1", n)
	}
}
