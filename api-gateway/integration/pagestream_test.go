package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teamtrack/tracking-core/servicetest"
)

// pageStream is a plain EventSource that a page in headless Chromium
// opened, and every event it dispatched so far: the browser's own client of
// a manager's stream, reconnecting by itself.
type pageStream struct {
	page   context.Context // the page's chromedp context
	name   string
	events []pageEvent // fetched so far, in the order the page saw them
}

// pageEvent is one event the EventSource dispatched.
type pageEvent struct {
	// Type is "open", "error", "message" (a position) or the name of a
	// named event ("reset", "reconnect").
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
	// Conn is the number of open events up to this one: 1 on the first
	// connection, 2 after the first reconnection.
	Conn int `json:"conn"`
	// ReadyState is the EventSource's readyState after the event (0
	// connecting, 1 open, 2 closed).
	ReadyState int `json:"readyState"`
}

// The page's recorder: window.__streams[name] holds the EventSource and its
// events. Only the events the API sends are listened to; nothing here
// reconnects, the browser does.
const openStreamScript = `((name, url) => {
	const s = {events: []};
	(window.__streams ??= {})[name] = s;
	const es = new EventSource(url);
	s.es = es;
	let opens = 0;
	const note = (type, e) => s.events.push({
		type, data: e.data ?? "", lastEventId: e.lastEventId ?? "", conn: opens, readyState: es.readyState,
	});
	es.addEventListener("open", (e) => { opens++; note("open", e); });
	es.addEventListener("error", (e) => note("error", e));
	es.addEventListener("message", (e) => note("message", e));
	for (const n of ["reset", "reconnect"]) es.addEventListener(n, (e) => note(n, e));
	return true;
})(%s, %s)`

// openPageStream opens an EventSource on url in page under name.
func openPageStream(t *testing.T, page context.Context, name, url string) *pageStream {
	t.Helper()
	n, _ := json.Marshal(name)
	u, _ := json.Marshal(url)
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](fmt.Sprintf(openStreamScript, n, u))); err != nil {
		t.Fatalf("open an EventSource on %s in the page: %v", url, err)
	}
	return &pageStream{page: page, name: name}
}

// fetch appends the events the page recorded since the last fetch.
func (s *pageStream) fetch() error {
	n, _ := json.Marshal(s.name)
	more, err := chromedp.Run(s.page, chromedp.Evaluate[[]pageEvent](
		fmt.Sprintf(`window.__streams[%s].events.slice(%d)`, n, len(s.events))))
	if err != nil {
		return fmt.Errorf("read the events of EventSource %s in the page: %w", s.name, err)
	}
	s.events = append(s.events, more...)
	return nil
}

// close closes the EventSource (it does not reconnect after that).
func (s *pageStream) close(t *testing.T) {
	t.Helper()
	n, _ := json.Marshal(s.name)
	if _, err := chromedp.Run(s.page, chromedp.Evaluate[bool](fmt.Sprintf(`window.__streams[%s].es.close(), true`, n))); err != nil {
		t.Fatalf("close EventSource %s in the page: %v", s.name, err)
	}
}

// waitFor fetches the page's events until cond holds, failing the test
// after timeout with what and a summary of the events.
func (s *pageStream) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := s.fetch(); err != nil {
			t.Fatal(err)
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("EventSource %s: timed out after %v waiting for %s; it has %s", s.name, timeout, what, s.summary())
		}
		time.Sleep(100 * time.Millisecond) // polling the page: it cannot call the test
	}
}

// ofType returns the events of type typ.
func (s *pageStream) ofType(typ string) []pageEvent {
	var out []pageEvent
	for _, e := range s.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// opens counts the open events: the connections made.
func (s *pageStream) opens() int { return len(s.ofType("open")) }

// records decodes the positions of the message events (the first
// undecodable one fails the test).
func (s *pageStream) records(t *testing.T) []servicetest.Record {
	t.Helper()
	var out []servicetest.Record
	for _, e := range s.ofType("message") {
		var r servicetest.Record
		if err := json.Unmarshal([]byte(e.Data), &r); err != nil {
			t.Fatalf("EventSource %s: a message that is not a position: %q: %v", s.name, e.Data, err)
		}
		r.JSON = json.RawMessage(e.Data)
		out = append(out, r)
	}
	return out
}

// latest is the highest sequence received per worker.
func (s *pageStream) latest() map[string]int {
	var recs []servicetest.Record
	for _, e := range s.ofType("message") {
		var r servicetest.Record
		if json.Unmarshal([]byte(e.Data), &r) == nil {
			recs = append(recs, r)
		}
	}
	return servicetest.Latest(recs)
}

// summary describes the events so far, for failure messages.
func (s *pageStream) summary() string {
	counts := map[string]int{}
	var other []string
	for _, e := range s.events {
		counts[e.Type]++
		if e.Type != "message" {
			other = append(other, fmt.Sprintf("%s(conn %d, readyState %d)", e.Type, e.Conn, e.ReadyState))
		}
	}
	return fmt.Sprintf("%d events %v, latest per worker %v, other than positions: %v", len(s.events), counts, s.latest(), other)
}
