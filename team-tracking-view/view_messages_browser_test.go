package view_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
)

// messagesView is what the test hook and the DOM say of the messages.
type messagesView struct {
	Tab  string `json:"tab"`
	Form struct {
		Open    bool   `json:"open"`
		To      string `json:"to"`
		Sending bool   `json:"sending"`
		Error   string `json:"error"`
		Status  string `json:"status"`
	} `json:"form"`
	Message  string        `json:"message"`
	Messages []hookMessage `json:"messages"`
	// The rows of the Messages tab, in order: data-message-id, data-mine,
	// the text and the states as shown.
	Rows []messageRow `json:"rows"`
	// Each worker row's latest message indicator (data-state, title).
	WorkerStates map[string]string `json:"workerStates"`
	WorkerTitles map[string]string `json:"workerTitles"`
	Presence     map[string]struct {
		Status string `json:"status"`
	} `json:"presence"`
	// The focused element: its id, else its aria-label.
	Focus string `json:"focus"`
}

// hookMessage is a message as window.__tracking.messages() tells it.
type hookMessage struct {
	ID         string            `json:"id"`
	Text       string            `json:"text"`
	To         any               `json:"to"` // "all" or the workers
	Mine       bool              `json:"mine"`
	SentAt     string            `json:"sentAt"`
	Total      int               `json:"total"`
	Online     *int              `json:"online"`
	Queued     *int              `json:"queued"`
	States     map[string]int    `json:"states"`
	Recipients map[string]string `json:"recipients"`
}

// messageRow is a row of the Messages tab.
type messageRow struct {
	ID     string `json:"id"`
	Mine   string `json:"mine"`
	Text   string `json:"text"`
	States string `json:"states"`
}

const readMessages = `(() => {
	const t = window.__tracking;
	if (!t || !t.messages) return null;
	const workerStates = {}, workerTitles = {};
	for (const li of document.querySelectorAll("#workers li[data-worker-id]")) {
		const m = li.querySelector(".worker-msg");
		workerStates[li.dataset.workerId] = (m && m.dataset.state) || "";
		workerTitles[li.dataset.workerId] = (m && m.title) || "";
	}
	const a = document.activeElement;
	return {tab: t.tab, form: t.messageForm(), message: t.messagesMessage(), messages: t.messages(),
		rows: [...document.querySelectorAll("#messages li[data-message-id]")].map((li) => ({
			id: li.dataset.messageId, mine: li.dataset.mine,
			text: li.querySelector(".message-text").textContent,
			states: li.querySelector(".message-states").textContent})),
		workerStates, workerTitles, presence: t.presence(),
		focus: a ? (a.id || a.getAttribute("aria-label") || "") : ""};
})()`

func waitMessages(t *testing.T, ctx context.Context, what string, timeout time.Duration, ok func(*messagesView) bool) *messagesView {
	t.Helper()
	return waitHook(t, ctx, what, timeout, readMessages, func(v *messagesView) bool { return v != nil && ok(v) })
}

// message is the hook's message id, or nil.
func (v *messagesView) message(id string) *hookMessage {
	for i := range v.Messages {
		if v.Messages[i].ID == id {
			return &v.Messages[i]
		}
	}
	return nil
}

// row is the Messages tab's row of id, or nil.
func (v *messagesView) row(id string) *messageRow {
	for i := range v.Rows {
		if v.Rows[i].ID == id {
			return &v.Rows[i]
		}
	}
	return nil
}

// clickCSS clicks the element sel (a CSS selector) as a user does.
func clickCSS(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// typeText types text into the element sel, key by key.
func typeText(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

// connectWorker connects a worker WebSocket to the replica and sends one
// position of team_one, which names the connection's worker.
func connectWorker(t *testing.T, r *servicetest.Replica, worker string, seq int) *servicetest.Worker {
	t.Helper()
	w := servicetest.MustDialWorker(t, r.WS+"/tracking/ws")
	if err := w.Send(servicetest.Rec("team_one", worker, seq)); err != nil {
		t.Fatal(err)
	}
	return w
}

// dispatchOf waits for the worker's dispatch message whose body is body
// and returns its id.
func dispatchOf(t *testing.T, w *servicetest.Worker, name, body string) string {
	t.Helper()
	var id string
	if !w.Wait(10*time.Second, func() bool {
		for _, m := range w.Dispatches() {
			if string(m.Body) == body {
				id = m.ID
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s did not get the message %s; it got %v", name, body, w.Answers())
	}
	return id
}

// TestBrowserMessages watches a real tracking replica with a message store
// and three workers on its worker WebSocket (w3 gone offline): the message
// button of w1's row opens the form, and the text typed is sent with the
// ttl chosen; the form says whom it reached; w1 gets it on its WebSocket
// and acks, and the view shows it acked (in the Messages tab and on w1's
// row) while w2 got nothing. "Message team" sends to all: w1 and w2 get
// it, w2 acks, w1 does not, and the tab counts 1 acked, 1 delivered and 1
// sent (w3, queued), until w3 connects again and gets it. A message another
// manager sent appears with its text, read once with GET .../messages/{id}.
// Escape closes the form and gives the focus back.
func TestBrowserMessages(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startPlatform(t, platformOptions{messages: true})
	w1 := connectWorker(t, p.Redis, "w1", 1)
	w2 := connectWorker(t, p.Redis, "w2", 1)
	w3 := connectWorker(t, p.Redis, "w3", 1)

	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, nil)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, ctx, "three workers online, no message", 10*time.Second, func(v *messagesView) bool {
		return len(v.WorkerStates) == 3 && v.Presence["w3"].Status == "online" && len(v.Messages) == 0 && !v.Form.Open
	})
	w3.Close()
	waitMessages(t, ctx, "w3 offline", 10*time.Second, func(v *messagesView) bool { return v.Presence["w3"].Status == "offline" })

	// To w1, from its row: click, type, pick the ttl, send.
	clickCSS(t, ctx, `#workers li[data-worker-id="w1"] button.worker-message`)
	v := waitMessages(t, ctx, "the form for w1", 5*time.Second, func(v *messagesView) bool { return v.Form.Open })
	if v.Form.To != "w1" || v.Focus != "message-text" {
		t.Errorf("the form is to %q with the focus on %q, want w1 and the text", v.Form.To, v.Focus)
	}
	if title := evaluate[string](t, ctx, `document.getElementById("message-form-title").textContent`); title != "Message to w1" {
		t.Errorf("the form's title is %q", title)
	}
	typeText(t, ctx, "#message-text", "go to depot 4")
	setValue(t, ctx, "message-ttl", "10m")
	clickCSS(t, ctx, "#message-send")
	v = waitMessages(t, ctx, "the message to w1 sent", 10*time.Second, func(v *messagesView) bool { return !v.Form.Open && v.Form.Status != "" })
	if want := "Message to w1: sent to 1 (online 1, queued 0)"; v.Form.Status != want || v.Form.Error != "" {
		t.Errorf("after sending: status %q error %q, want %q", v.Form.Status, v.Form.Error, want)
	}
	id := dispatchOf(t, w1, "w1", `{"text":"go to depot 4"}`)
	if m := v.message(id); m == nil || !m.Mine || m.Text != "go to depot 4" || m.Total != 1 || fmt.Sprint(m.To) != "[w1]" {
		t.Fatalf("the view's messages %+v, want %s to w1, mine, with its text", v.Messages, id)
	}
	if v.Focus != "Message w1" {
		t.Errorf("after sending the focus is on %q, want back on w1's message button", v.Focus)
	}
	// The ttl chosen is the message's.
	status, body := apiCall(t, http.MethodGet, p.Redis.URL+"/tracking/team_one/messages/"+id, "")
	var stored struct{ SentAt, ExpiresAt time.Time }
	if status != http.StatusOK || json.Unmarshal(body, &stored) != nil {
		t.Fatalf("GET the message: %d %s", status, body)
	}
	if ttl := stored.ExpiresAt.Sub(stored.SentAt); ttl != 10*time.Minute {
		t.Errorf("the message's ttl is %v, want the 10m chosen", ttl)
	}

	// w1 acks: acked in the tab and on its row.
	if err := w1.Send(wire.AppendWorkerReply(nil, wire.TypeAck, id)); err != nil {
		t.Fatal(err)
	}
	v = waitMessages(t, ctx, "the message acked", 10*time.Second, func(v *messagesView) bool {
		m, r := v.message(id), v.row(id)
		return m != nil && m.States["acked"] == 1 && m.Recipients["w1"] == "acked" && r != nil &&
			strings.HasPrefix(r.States, "1 acked") && v.WorkerStates["w1"] == "acked"
	})
	if m := v.message(id); m.States["sent"]+m.States["delivered"]+m.States["expired"]+m.States["read"] != 0 {
		t.Errorf("states %v, want only acked", m.States)
	}
	if r := v.row(id); r.Text != "go to depot 4" || r.Mine != "true" {
		t.Errorf("the row %+v", r)
	}
	if !strings.Contains(v.WorkerTitles["w1"], `"go to depot 4": acknowledged`) || v.WorkerStates["w2"] != "" {
		t.Errorf("worker rows: w1 %q (%q), w2 %q", v.WorkerStates["w1"], v.WorkerTitles["w1"], v.WorkerStates["w2"])
	}
	if n := len(w2.Dispatches()); n != 0 {
		t.Errorf("w2 got %d messages, want none", n)
	}

	// To the team, from the Messages tab.
	click(t, ctx, "tab-messages")
	clickCSS(t, ctx, "#messages-team")
	waitMessages(t, ctx, "the form for the team", 5*time.Second, func(v *messagesView) bool { return v.Form.Open && v.Form.To == "all" })
	typeText(t, ctx, "#message-text", "storm warning")
	clickCSS(t, ctx, "#message-send")
	v = waitMessages(t, ctx, "the message to all sent", 10*time.Second, func(v *messagesView) bool {
		return !v.Form.Open && strings.HasPrefix(v.Form.Status, "Message to the team")
	})
	if want := "Message to the team: sent to 3 (online 2, queued 1)"; v.Form.Status != want {
		t.Errorf("status %q, want %q", v.Form.Status, want)
	}
	all := dispatchOf(t, w1, "w1", `{"text":"storm warning"}`)
	if got := dispatchOf(t, w2, "w2", `{"text":"storm warning"}`); got != all {
		t.Fatalf("w1 and w2 got messages %s and %s", all, got)
	}
	if err := w2.Send(wire.AppendWorkerReply(nil, wire.TypeAck, all)); err != nil {
		t.Fatal(err)
	}
	v = waitMessages(t, ctx, "1 acked, 1 delivered, 1 sent", 10*time.Second, func(v *messagesView) bool {
		m := v.message(all)
		return m != nil && m.States["acked"] == 1 && m.States["delivered"] == 1 && m.States["sent"] == 1 &&
			v.row(all) != nil && v.row(all).States == "1 acked · 1 delivered · 1 sent"
	})
	if m := v.message(all); m.To != "all" || m.Total != 3 || m.Recipients["w2"] != "acked" || m.Recipients["w1"] != "delivered" {
		t.Errorf("the message to all: %+v", m)
	}
	if len(v.Rows) != 2 || v.Rows[0].ID != all || v.Rows[1].ID != id {
		t.Errorf("rows %+v, want the message to all, then the one to w1", v.Rows)
	}
	waitMessages(t, ctx, "the worker rows' latest states", 5*time.Second, func(v *messagesView) bool {
		return v.WorkerStates["w1"] == "delivered" && v.WorkerStates["w2"] == "acked" && v.WorkerStates["w3"] == "sent"
	})
	screenshot(t, ctx, "messages")

	// w3 comes back: it gets the message, delivered.
	w3 = connectWorker(t, p.Redis, "w3", 2)
	dispatchOf(t, w3, "w3", `{"text":"storm warning"}`)
	waitMessages(t, ctx, "w3's delivered", 10*time.Second, func(v *messagesView) bool {
		m := v.message(all)
		return m != nil && m.States["delivered"] == 2 && m.States["sent"] == 0 && v.WorkerStates["w3"] == "delivered"
	})

	// Another manager's message: listed once its events come, its text read once.
	status, body = apiCall(t, http.MethodPost, p.Redis.URL+"/tracking/team_one/messages", `{"to":["w2"],"body":{"text":"from HQ"}}`)
	var sent struct{ ID string }
	if status != http.StatusCreated || json.Unmarshal(body, &sent) != nil {
		t.Fatalf("POST a message as another manager: %d %s", status, body)
	}
	v = waitMessages(t, ctx, "the other manager's message", 10*time.Second, func(v *messagesView) bool {
		m := v.message(sent.ID)
		return m != nil && m.Text == "from HQ" && m.Recipients["w2"] == "delivered" && v.row(sent.ID) != nil && v.row(sent.ID).Text == "from HQ"
	})
	if m := v.message(sent.ID); m.Mine || fmt.Sprint(m.To) != "[w2]" || v.row(sent.ID).Mine != "false" || v.Rows[0].ID != sent.ID {
		t.Errorf("the other manager's message: %+v (rows %+v)", m, v.Rows)
	}
	time.Sleep(300 * time.Millisecond) // more delivery events of it would read it again
	if n := len(p.requests("/tracking/redis/team_one/messages/" + sent.ID)); n != 1 {
		t.Errorf("the page read the other manager's message %d times, want once", n)
	}
	for _, own := range []string{id, all} {
		if n := len(p.requests("/tracking/redis/team_one/messages/" + own)); n != 0 {
			t.Errorf("the page read its own message %s %d times, want none", own, n)
		}
	}

	// Escape closes the form; the focus goes back to the button that opened it.
	click(t, ctx, "tab-workers")
	clickCSS(t, ctx, "#message-team")
	waitMessages(t, ctx, "the form open", 5*time.Second, func(v *messagesView) bool { return v.Form.Open && v.Focus == "message-text" })
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b")); err != nil { // Escape
		t.Fatal(err)
	}
	waitMessages(t, ctx, "the form closed by Escape", 5*time.Second, func(v *messagesView) bool { return !v.Form.Open && v.Focus == "message-team" })
	screenshot(t, ctx, "messages-workers")
	if got := len(w1.Dispatches()); got != 2 {
		t.Errorf("w1 got %d messages, want 2", got)
	}
}

// TestBrowserMessagesUnavailable: a replica without a message store answers
// 501; the send says messages are not available and the map carries on.
func TestBrowserMessagesUnavailable(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startPlatform(t, platformOptions{})
	w1 := connectWorker(t, p.Redis, "w1", 1)

	ctx := browsertest.NewPage(t)
	checkConsole(t, ctx, func(m string) bool {
		return strings.Contains(m, "status of 501") && strings.Contains(m, "/tracking/redis/team_one/messages")
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, ctx, "w1 in the panel", 10*time.Second, func(v *messagesView) bool { _, ok := v.WorkerStates["w1"]; return ok })
	clickCSS(t, ctx, `#workers li[data-worker-id="w1"] button.worker-message`)
	waitMessages(t, ctx, "the form for w1", 5*time.Second, func(v *messagesView) bool { return v.Form.Open && v.Form.To == "w1" })
	typeText(t, ctx, "#message-text", "hello")
	clickCSS(t, ctx, "#message-send")
	v := waitMessages(t, ctx, "the send refused", 10*time.Second, func(v *messagesView) bool { return v.Form.Error != "" && !v.Form.Sending })
	if !strings.Contains(v.Form.Error, "not available") || !v.Form.Open || v.Form.Status != "" || len(v.Messages) != 0 {
		t.Errorf("after a 501: form %+v, %d messages; want the form open saying messages are not available", v.Form, len(v.Messages))
	}
	if !strings.Contains(v.Message, "not available") {
		t.Errorf("the Messages tab says %q, want that messages are not available", v.Message)
	}
	click(t, ctx, "tab-messages")
	if shown := evaluate[bool](t, ctx, `!document.getElementById("messages-message").hidden && document.getElementById("messages-empty").hidden`); !shown {
		t.Error("the Messages tab does not show why (or still shows its empty text)")
	}
	screenshot(t, ctx, "messages-none")
	if len(w1.Dispatches()) != 0 {
		t.Errorf("w1 got %v", w1.Dispatches())
	}
	// The map carries on: a new position moves w1's marker.
	if err := w1.Send(servicetest.Rec("team_one", "w1", 7)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "w1's new position", 5*time.Second, func() bool {
		return slices.Contains(evaluate[[]string](t, ctx, `window.__tracking.workerIds()`), "w1") &&
			evaluate[float64](t, ctx, `window.__tracking.received()`) >= 2
	})
}
