package servicetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Record is the part of a position record the scenarios check.
type Record struct {
	ID       string `json:"id"`
	WorkerID string `json:"workerId"`
	Team     string `json:"team"`
}

// Stream is a manager's view of a team: every record received, in order.
type Stream struct {
	mu        sync.Mutex
	records   []Record
	events    []string // non-data events (reconnect) seen
	notify    chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	firstData time.Time
}

func newStream(cancel context.CancelFunc) *Stream {
	return &Stream{notify: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
}

func (s *Stream) add(r Record) {
	s.mu.Lock()
	if len(s.records) == 0 {
		s.firstData = time.Now()
	}
	s.records = append(s.records, r)
	s.mu.Unlock()
	s.poke()
}

func (s *Stream) addEvent(name string) {
	s.mu.Lock()
	s.events = append(s.events, name)
	s.mu.Unlock()
	s.poke()
}

func (s *Stream) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Records returns a copy of what was received.
func (s *Stream) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Events returns the names of non-data events received.
func (s *Stream) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// WaitFor polls cond on the received records until it holds or timeout.
func (s *Stream) WaitFor(timeout time.Duration, cond func([]Record) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if cond(s.Records()) {
			return true
		}
		select {
		case <-s.notify:
		case <-s.done:
			return cond(s.Records())
		case <-deadline.C:
			return cond(s.Records())
		}
	}
}

// Close ends the stream and waits for its reader.
func (s *Stream) Close() {
	s.cancel()
	<-s.done
}

// Done is closed when the stream's reader has ended.
func (s *Stream) Done() <-chan struct{} { return s.done }

// OpenSSE connects to url (…/tracking/{team}) and reads events until Close.
// It returns once the response headers arrived.
func OpenSSE(url string) (*Stream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	s := newStream(cancel)
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if event != "" {
					s.addEvent(event)
					continue
				}
				var r Record
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &r) == nil {
					s.add(r)
				}
			case line == "":
				event = ""
			}
		}
	}()
	return s, nil
}

// OpenManagerWS connects to url (ws://…/tracking/{team}/ws) and reads until Close.
func OpenManagerWS(url string) (*Stream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	conn.SetReadLimit(16 << 20)
	s := newStream(cancel)
	go func() {
		defer close(s.done)
		defer conn.CloseNow()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var msg struct {
				Type      string   `json:"type"`
				Positions []Record `json:"positions"`
			}
			if json.Unmarshal(data, &msg) != nil {
				continue
			}
			if msg.Type != "positions" {
				s.addEvent(msg.Type)
				continue
			}
			for _, r := range msg.Positions {
				s.add(r)
			}
		}
	}()
	return s, nil
}

// Worker is a worker's WebSocket: it sends records and collects the server's
// answers.
type Worker struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	answers []map[string]any
	notify  chan struct{}
	done    chan struct{}
}

// DialWorker connects to url (ws://…/tracking/ws).
func DialWorker(url string) (*Worker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	w := &Worker{conn: conn, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				w.mu.Lock()
				w.answers = append(w.answers, m)
				w.mu.Unlock()
				select {
				case w.notify <- struct{}{}:
				default:
				}
			}
		}
	}()
	return w, nil
}

// Send writes one text message.
func (w *Worker) Send(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.conn.Write(ctx, websocket.MessageText, msg)
}

// Answers returns the server's messages so far.
func (w *Worker) Answers() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.answers...)
}

// WaitAnswers waits for at least n server messages.
func (w *Worker) WaitAnswers(timeout time.Duration, n int) []map[string]any {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if a := w.Answers(); len(a) >= n {
			return a
		}
		select {
		case <-w.notify:
		case <-deadline.C:
			return w.Answers()
		}
	}
}

// Close closes the connection normally.
func (w *Worker) Close() {
	_ = w.conn.Close(websocket.StatusNormalClosure, "")
	<-w.done
}

// IngestSummary is the answer to a POST.
type IngestSummary struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Errors   []struct {
		Record  int    `json:"record"`
		Code    string `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	} `json:"errors"`
}

// Post streams body to url (…/tracking) as NDJSON and returns the summary.
func Post(url string, body io.Reader) (IngestSummary, error) {
	var sum IngestSummary
	resp, err := http.Post(url, "application/x-ndjson", body)
	if err != nil {
		return sum, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return sum, fmt.Errorf("POST %s: %s: %s", url, resp.Status, b)
	}
	return sum, json.NewDecoder(resp.Body).Decode(&sum)
}
