package view_test

import (
	"context"
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
	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting/webpush/pushtest"
)

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

// TestBrowserNotifications follows an alert from a worker's position to a
// notification on a manager's screen with the map closed. The manager
// turns the notifications toggle on (the permission granted through the
// DevTools protocol, as a click on the browser's prompt would): the view
// registers its service worker (/sw.js, scope /), reads the service's
// VAPID key, subscribes with it and gives the subscription to the
// service. A worker walks into a fence; the service pushes the enter alert
// to the push service the test runs (pushtest: it checks the VAPID token,
// RFC 8292, and decrypts the body, RFC 8291), and what it decrypted is
// handed to the service worker as the browser's push service would
// (ServiceWorker.deliverPushMessage) while the page is elsewhere: the
// notification shows the worker and the kind as its title and the fence
// and the team as its body. Turning the toggle off deletes the
// subscription at the service and unsubscribes the browser.
//
// pushManager.subscribe is stubbed (pushManagerStub): headless Chromium
// cannot reach a push service; the stub hands out the test push service's
// subscription instead.
func TestBrowserNotifications(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	ps, err := pushtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	p := startPlatform(t, platformOptions{push: true})
	api := p.Redis.URL + "/tracking/team_one"
	status, body := apiCall(t, http.MethodGet, api+"/push/key", "")
	var key struct{ PublicKey string }
	if status != http.StatusOK || json.Unmarshal(body, &key) != nil || key.PublicKey == "" {
		t.Fatalf("GET push/key: %d %s", status, body)
	}
	sub, err := ps.Subscribe(key.PublicKey) // what the browser's push service hands out
	if err != nil {
		t.Fatal(err)
	}
	subscriptions := func() []struct{ ID, Endpoint string } {
		t.Helper()
		status, body := apiCall(t, http.MethodGet, api+"/push/subscriptions", "")
		var v struct {
			Subscriptions []struct{ ID, Endpoint string }
		}
		if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Fatalf("GET push/subscriptions: %d %s", status, body)
		}
		return v.Subscriptions
	}

	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: p.URL,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: fmt.Sprintf(pushManagerStub, sub.JSON()),
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
	if on.State != "on" || on.Endpoint != sub.Endpoint || on.ID == "" || !strings.Contains(on.Message, "team_one") {
		t.Fatalf("after the toggle: %+v", on)
	}
	if got := evaluate[string](t, ctx, `window.__pushStub.key`); got != key.PublicKey {
		t.Errorf("subscribed with applicationServerKey %q, want the service's VAPID key %q", got, key.PublicKey)
	}
	if subs := subscriptions(); len(subs) != 1 || subs[0].ID != on.ID || subs[0].Endpoint != sub.Endpoint {
		t.Fatalf("the service's subscriptions %+v, want the browser's (%s, %s)", subs, on.ID, sub.Endpoint)
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

	// A worker walks into the depot: the enter alert is pushed.
	if status, body := apiCall(t, http.MethodPut, api+"/geofences/depot",
		fmt.Sprintf(`{"name":"Depot","geometry":{"type":"Point","coordinates":[%g,%g],"radius":200}}`, spLng, spLat)); status != http.StatusCreated {
		t.Fatalf("PUT the depot: %d %s", status, body)
	}
	now := time.Now().UTC()
	at := func(id string, lat float64, ts time.Time) tracking.Position {
		return tracking.Position{ID: id, WorkerID: "w-17", Team: "team_one", Location: tracking.Location{Latitude: lat, Longitude: spLng}, TimeStamp: ts}
	}
	p.publish(t, []tracking.Position{at("w-17.0", spLat+0.01, now)})
	var pushed []pushtest.Message
	waitFor(t, "the fence in the replica's cache, then the push", 10*time.Second, func() bool {
		// Inside, a second later each time, until the fence is evaluated.
		now = now.Add(time.Second)
		p.publish(t, []tracking.Position{at(fmt.Sprintf("w-17.%d", now.Unix()), spLat, now)})
		wctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		pushed, _ = ps.Wait(wctx, 1)
		return len(pushed) > 0
	})
	var alert struct{ ID, Kind, WorkerID, FenceID string }
	if err := json.Unmarshal(pushed[0].Plaintext, &alert); err != nil || alert.Kind != "enter" || alert.WorkerID != "w-17" || alert.FenceID != "depot" {
		t.Fatalf("pushed %s (%v), want w-17's enter of the depot", pushed[0].Plaintext, err)
	}
	if pushed[0].Subscriber != sub.ID {
		t.Errorf("pushed to subscriber %s, want the browser's %s", pushed[0].Subscriber, sub.ID)
	}
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: p.URL, RegistrationID: regID, Data: string(pushed[0].Plaintext),
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
	want := notification{Title: "w-17 entered", Body: "Depot · team_one", Tag: alert.ID}
	if len(shown) != 1 || shown[0] != want {
		t.Errorf("notifications %+v, want %+v", shown, want)
	}

	// Turned off, the subscription goes.
	waitPush(t, ctx, "notifications on after a reload", func(v *pushView) bool { return v.State == "on" && v.ID == on.ID })
	click(t, ctx, "tab-alerts")
	click(t, ctx, "notify")
	off := waitPush(t, ctx, "notifications off", func(v *pushView) bool { return v.State == "off" || v.State == "failed" })
	if off.State != "off" || off.ID != "" {
		t.Errorf("after the toggle off: %+v", off)
	}
	if subs := subscriptions(); len(subs) != 0 {
		t.Errorf("the service still has the subscriptions %+v after the toggle off", subs)
	}
	if n := evaluate[int](t, ctx, `window.__pushStub.unsubscribed`); n != 1 {
		t.Errorf("the browser's subscription was unsubscribed %d times, want 1", n)
	}
}
