package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// The scenarios' clients: thin recorders over wire/apiclient, the one client
// of the API, kept under their old names for the gateway's tests.

// Record is the part of a position record the scenarios check, with the
// record's JSON as received.
type Record struct {
	ID       string `json:"id"`
	WorkerID string `json:"workerId"`
	Team     string `json:"team"`
	// JSON is the record as the server sent it.
	JSON json.RawMessage `json:"-"`
}

// decodeRecord decodes rec, keeping a copy of its bytes.
func decodeRecord(rec []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(rec, &r); err != nil {
		return r, fmt.Errorf("decode record %.100s: %w", rec, err)
	}
	r.JSON = bytes.Clone(rec)
	return r, nil
}

// Stream is a manager's view of a team: every record received, in order.
type Stream struct {
	ms     apiclient.ManagerStream
	mu     sync.Mutex
	recs   []Record
	events []string // non-position events seen: "reconnect", "error", "heartbeat", "reset"
	lastID string   // the last stream id received
	status []string // status events received, "worker:status/reason"
	alerts [][]byte // alert records received
	deliv  []string // delivery events received, "messageId:worker:state"
	err    error    // why the stream ended
	notify chan struct{}
	done   chan struct{}
}

func newStream(ms apiclient.ManagerStream) *Stream {
	s := &Stream{ms: ms, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go s.read()
	return s
}

// read is the stream's one reader goroutine.
func (s *Stream) read() {
	defer close(s.done)
	for {
		ev, err := s.ms.Next()
		if err != nil {
			s.mu.Lock()
			s.err = err
			if apiclient.IsReconnect(err) {
				s.events = append(s.events, "reconnect")
			}
			s.mu.Unlock()
			s.poke()
			return
		}
		s.mu.Lock()
		for _, p := range ev.Positions {
			r, err := decodeRecord(p)
			if err != nil {
				s.events = append(s.events, "bad record: "+err.Error())
				continue
			}
			s.recs = append(s.recs, r)
		}
		if ev.Error != nil {
			s.events = append(s.events, "error")
		}
		if ev.Reset {
			s.events = append(s.events, "reset")
		}
		if ev.Status != nil {
			var v struct{ WorkerID, Status, Reason string }
			if err := json.Unmarshal(ev.Status, &v); err != nil {
				s.events = append(s.events, "bad status: "+err.Error())
			}
			s.status = append(s.status, v.WorkerID+":"+v.Status+"/"+v.Reason)
		}
		if ev.Alert != nil {
			s.alerts = append(s.alerts, bytes.Clone(ev.Alert))
		}
		if ev.Delivery != nil {
			var v struct{ MessageID, WorkerID, State string }
			if err := json.Unmarshal(ev.Delivery, &v); err != nil {
				s.events = append(s.events, "bad delivery: "+err.Error())
			}
			s.deliv = append(s.deliv, v.MessageID+":"+v.WorkerID+":"+v.State)
		}
		if ev.ID != "" {
			s.lastID = ev.ID
		}
		for _, c := range ev.Comments {
			if string(c) == wire.SSEHeartbeat {
				s.events = append(s.events, "heartbeat")
			}
		}
		s.mu.Unlock()
		s.poke()
	}
}

func (s *Stream) poke() { poke(s.notify) }

// poke wakes a waiter on notify, a channel of capacity 1, without blocking.
func poke(notify chan struct{}) {
	select {
	case notify <- struct{}{}:
	default:
	}
}

// waitNotified polls cond until it holds, done is closed (nil: never) or
// timeout, waking on notify; it returns cond's last result.
func waitNotified(timeout time.Duration, notify, done <-chan struct{}, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-notify:
		case <-done:
			return cond()
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

// Records returns a copy of what was received.
func (s *Stream) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.recs...)
}

// Events returns the non-position events received, in order: "reconnect"
// (a hint, which ends the stream), "error", "heartbeat", or a bad record.
func (s *Stream) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// Statuses returns the status events received, in order, each as
// "worker:status/reason".
func (s *Stream) Statuses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.status...)
}

// Alerts returns the alert records received, in order.
func (s *Stream) Alerts() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.alerts...)
}

// Deliveries returns the delivery events received, in order, each as
// "messageId:worker:state".
func (s *Stream) Deliveries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deliv...)
}

// WaitDeliveries polls cond on the delivery events received until it
// holds, the stream ends or timeout.
func (s *Stream) WaitDeliveries(timeout time.Duration, cond func(deliveries []string) bool) bool {
	return waitNotified(timeout, s.notify, s.done, func() bool { return cond(s.Deliveries()) })
}

// WaitEvents polls cond on the status events received until it holds, the
// stream ends or timeout.
func (s *Stream) WaitEvents(timeout time.Duration, cond func(statuses []string) bool) bool {
	return waitNotified(timeout, s.notify, s.done, func() bool { return cond(s.Statuses()) })
}

// WaitAlerts polls cond on the alert records received until it holds, the
// stream ends or timeout.
func (s *Stream) WaitAlerts(timeout time.Duration, cond func(alerts [][]byte) bool) bool {
	return waitNotified(timeout, s.notify, s.done, func() bool { return cond(s.Alerts()) })
}

// LastID is the last stream id received ("" before any): reconnecting
// after it resumes the stream.
func (s *Stream) LastID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Err is why the stream ended (an *apiclient.ReconnectError after a hint);
// nil while it lasts.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// WaitFor polls cond on the received records until it holds, the stream
// ends or timeout.
func (s *Stream) WaitFor(timeout time.Duration, cond func([]Record) bool) bool {
	return waitNotified(timeout, s.notify, s.done, func() bool { return cond(s.Records()) })
}

// Close ends the stream and waits for its reader.
func (s *Stream) Close() {
	_ = s.ms.Close()
	<-s.done
}

// Done is closed when the stream's reader has ended.
func (s *Stream) Done() <-chan struct{} { return s.done }

// OpenSSE connects to url (…/tracking/{team}) and reads events until Close.
// It returns once the response headers arrived.
func OpenSSE(url string) (*Stream, error) { return openStream(url, "", (*apiclient.Client).WatchSSE) }

// OpenSSEAfter is OpenSSE resuming after the stream id lastEventID (the
// Last-Event-ID header).
func OpenSSEAfter(url, lastEventID string) (*Stream, error) {
	return openStream(url, "", func(c *apiclient.Client, ctx context.Context, team string) (apiclient.ManagerStream, error) {
		return c.WatchSSEAfter(ctx, team, lastEventID)
	})
}

// OpenManagerWS connects to url (ws://…/tracking/{team}/ws) and reads until Close.
func OpenManagerWS(url string) (*Stream, error) {
	return openStream(url, "/ws", (*apiclient.Client).WatchWS)
}

// OpenManagerWSAfter is OpenManagerWS resuming after the stream id since.
func OpenManagerWSAfter(url, since string) (*Stream, error) {
	return openStream(url, "/ws", func(c *apiclient.Client, ctx context.Context, team string) (apiclient.ManagerStream, error) {
		return c.WatchWSAfter(ctx, team, since)
	})
}

// openStream splits raw, less suffix, into the API's base and the team (a
// trailing slash kept, to exercise that route) and watches the team.
func openStream(raw, suffix string, watch func(*apiclient.Client, context.Context, string) (apiclient.ManagerStream, error)) (*Stream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	p := strings.TrimSuffix(u.Path, suffix)
	i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/')
	if i < 0 {
		return nil, fmt.Errorf("url %s: no team in its path", raw)
	}
	u.Path = p[:i]
	c, err := apiclient.New(u.String(), apiclient.Config{})
	if err != nil {
		return nil, err
	}
	ms, err := watch(c, context.Background(), p[i+1:])
	if err != nil {
		return nil, err
	}
	return newStream(ms), nil
}

// Worker is a worker's WebSocket: it sends records and collects the server's
// answers.
type Worker struct {
	conn    *apiclient.WorkerConn
	mu      sync.Mutex
	answers []wire.ServerMessage
	notify  chan struct{}
}

// DialWorker connects to url (ws://…/tracking/ws, a query kept).
func DialWorker(rawURL string) (*Worker, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/ws")
	c, err := apiclient.New(u.String(), apiclient.Config{})
	if err != nil {
		return nil, err
	}
	w := &Worker{notify: make(chan struct{}, 1)}
	w.conn, err = c.DialWorker(context.Background(), w.answer)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) answer(m *wire.ServerMessage) {
	w.mu.Lock()
	w.answers = append(w.answers, wire.ServerMessage{Type: m.Type, Reason: m.Reason, Error: m.Error,
		ID: m.ID, Body: bytes.Clone(m.Body), Interval: m.Interval})
	w.mu.Unlock()
	poke(w.notify)
}

// Send writes one text message.
func (w *Worker) Send(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.conn.Send(ctx, msg)
}

// Messages returns the server's messages so far.
func (w *Worker) Messages() []wire.ServerMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wire.ServerMessage(nil), w.answers...)
}

// Dispatches returns the dispatch messages received so far ({"type":"message"}).
func (w *Worker) Dispatches() []wire.ServerMessage {
	var out []wire.ServerMessage
	for _, m := range w.Messages() {
		if m.Type == wire.TypeMessage {
			out = append(out, m)
		}
	}
	return out
}

// Advice returns the intervals of the sampling advice received so far.
func (w *Worker) Advice() []string {
	var out []string
	for _, m := range w.Messages() {
		if m.Type == wire.TypeConfig {
			out = append(out, m.Interval)
		}
	}
	return out
}

// Wait polls cond until it holds, the connection ends or timeout.
func (w *Worker) Wait(timeout time.Duration, cond func() bool) bool {
	return waitNotified(timeout, w.notify, w.conn.Done(), cond)
}

// Refusals returns Answers without what the server sends of its own accord
// (dispatch messages and sampling advice): its answers to what the worker
// sent (errors) and its reconnect hints.
func (w *Worker) Refusals() []map[string]any {
	var out []map[string]any
	for _, a := range w.Answers() {
		if t := a["type"]; t != wire.TypeMessage && t != wire.TypeConfig {
			out = append(out, a)
		}
	}
	return out
}

// Answers returns the server's messages so far as JSON objects ("type",
// "code", "message", "id", "reason").
func (w *Worker) Answers() []map[string]any {
	msgs := w.Messages()
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		a := map[string]any{"type": m.Type}
		for k, v := range map[string]string{"code": m.Error.Code, "message": m.Error.Message, "id": m.Error.ID, "reason": m.Reason} {
			if v != "" {
				a[k] = v
			}
		}
		out[i] = a
	}
	return out
}

// WaitAnswers waits for at least n answers (Refusals: messages and advice
// the server sends of its own accord are not counted) and returns them.
func (w *Worker) WaitAnswers(timeout time.Duration, n int) []map[string]any {
	waitNotified(timeout, w.notify, nil, func() bool { return len(w.Refusals()) >= n })
	return w.Refusals()
}

// Done is closed when the connection ended on its own or the server asked
// to reconnect; Err then says why.
func (w *Worker) Done() <-chan struct{} { return w.conn.Done() }

// Err is why the connection ended (see apiclient.WorkerConn.Err).
func (w *Worker) Err() error { return w.conn.Err() }

// Close closes the connection normally.
func (w *Worker) Close() { _ = w.conn.Close() }

// IngestSummary is the answer to a POST.
type IngestSummary = wire.IngestAnswer

// Post streams body to url (…/tracking) as NDJSON and returns the summary;
// any status but 200 is an error (an *apiclient.StatusError).
func Post(url string, body io.Reader) (IngestSummary, error) {
	c, err := apiclient.New(url, apiclient.Config{})
	if err != nil {
		return IngestSummary{}, err
	}
	return c.Post(context.Background(), body)
}

// MustOpenSSE is OpenSSE for the test's goroutine: it fails t on an error
// and closes the stream when the test ends.
func MustOpenSSE(t testing.TB, url string) *Stream { t.Helper(); return mustOpen(t, OpenSSE, url) }

// MustOpenManagerWS is OpenManagerWS as MustOpenSSE is OpenSSE.
func MustOpenManagerWS(t testing.TB, url string) *Stream {
	t.Helper()
	return mustOpen(t, OpenManagerWS, url)
}

// MustDialWorker is DialWorker as MustOpenSSE is OpenSSE (closed at the end
// of the test; closing it earlier too is fine).
func MustDialWorker(t testing.TB, url string) *Worker {
	t.Helper()
	return mustOpen(t, DialWorker, url)
}

func mustOpen[T interface{ Close() }](t testing.TB, open func(string) (T, error), url string) T {
	t.Helper()
	v, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}
