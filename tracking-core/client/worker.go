package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// Message is a manager's message to the worker.
type Message struct {
	ID        string
	Body      []byte // the JSON object the manager sent, byte for byte
	SentAt    time.Time
	ExpiresAt time.Time
}

// WorkerOptions configure a Worker. Zero values take the defaults in the
// comments.
type WorkerOptions struct {
	// Backoff paces reconnections. Default Backoff{}.
	Backoff Backoff
	// MessageBuffer is how many messages Messages holds before the worker
	// stops reading its connection. Default 64.
	MessageBuffer int
	// OnError is called with each error the server answers a record with
	// (the record is not published; the connection stays). Default: logged.
	OnError func(wire.ErrorBody)
	// OnReconnect is called before each new connection after the first,
	// with why the previous one ended. Default: logged.
	OnReconnect func(cause error)
	// Logger. Default: discard.
	Logger *slog.Logger
}

// Worker is a worker's lasting connection to the tracking API. Send,
// Ack, Read and Interval may be called from any goroutine.
type Worker struct {
	api  *apiclient.Client
	opts WorkerOptions
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{} // the supervisor ended
	msgs chan Message

	mu       sync.Mutex
	state    *connState
	err      error // why the worker ended, once it has
	interval time.Duration
	seen     map[string]bool // message ids already yielded: delivery is at least once
}

// DialWorker connects a worker to api's /ws and keeps it connected until
// Close or ctx is done. It returns the first connection's error: a
// *apiclient.StatusError for a refusal (a bad token: 401).
func DialWorker(ctx context.Context, api *apiclient.Client, opts WorkerOptions) (*Worker, error) {
	opts.Backoff = opts.Backoff.withDefaults()
	if opts.MessageBuffer <= 0 {
		opts.MessageBuffer = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnError == nil {
		opts.OnError = func(e wire.ErrorBody) { opts.Logger.Warn("record refused", "err", e) }
	}
	if opts.OnReconnect == nil {
		opts.OnReconnect = func(cause error) { opts.Logger.Info("reconnecting", "cause", cause) }
	}
	w := &Worker{api: api, opts: opts, done: make(chan struct{}), msgs: make(chan Message, opts.MessageBuffer),
		state: &connState{next: make(chan struct{})}, seen: map[string]bool{}}
	w.ctx, w.stop = context.WithCancel(ctx)
	conn, err := api.DialWorker(w.ctx, w.onAnswer)
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("worker: %w", err)
	}
	w.setConn(conn)
	go w.supervise(conn)
	return w, nil
}

// connState is the worker's connection (nil between connections); next is
// closed when it is replaced, so that a sender waiting for a change wakes.
type connState struct {
	conn *apiclient.WorkerConn
	next chan struct{}
}

// setConn makes c (nil: none) the connection senders use.
func (w *Worker) setConn(c *apiclient.WorkerConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.state
	w.state = &connState{conn: c, next: make(chan struct{})}
	close(old.next)
}

// supervise waits for each connection to end and dials the next.
func (w *Worker) supervise(conn *apiclient.WorkerConn) {
	defer close(w.done)
	defer close(w.msgs)
	for {
		select {
		case <-conn.Done():
		case <-w.ctx.Done():
			_ = conn.Close()
			w.end(context.Cause(w.ctx))
			return
		}
		cause := conn.Err()
		w.setConn(nil)
		// Records sent before the hint are still read by the server: a clean
		// close lets them through.
		_ = conn.Close()
		w.opts.OnReconnect(cause)
		var err error
		for attempt := 0; ; attempt++ {
			if !apiclient.IsReconnect(cause) || attempt > 0 {
				if err = w.opts.Backoff.wait(w.ctx, attempt); err != nil {
					w.end(err)
					return
				}
			}
			conn, err = w.api.DialWorker(w.ctx, w.onAnswer)
			if err == nil {
				break
			}
			var se *apiclient.StatusError
			if errors.As(err, &se) && permanent(se.StatusCode) {
				w.end(fmt.Errorf("worker: reconnect refused: %w", err))
				return
			}
			if w.ctx.Err() != nil {
				w.end(context.Cause(w.ctx))
				return
			}
			w.opts.Logger.Warn("reconnect failed", "attempt", attempt+1, "err", err)
		}
		w.setConn(conn)
	}
}

func (w *Worker) end(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	w.setConn(nil) // wakes waiting senders, who then see err
}

// onAnswer runs on the connection's reader goroutine.
func (w *Worker) onAnswer(m *wire.ServerMessage) {
	switch m.Type {
	case wire.TypeMessage:
		w.mu.Lock()
		dup := w.seen[m.ID]
		w.seen[m.ID] = true
		w.mu.Unlock()
		if dup {
			// Sent again on a new connection: the ack was lost. Ack it again
			// if the connection is up; never wait here, on its reader.
			w.tryWrite(wire.AppendWorkerReply(nil, wire.TypeAck, m.ID))
			return
		}
		msg := Message{ID: m.ID, Body: append([]byte(nil), m.Body...), SentAt: m.SentAt, ExpiresAt: m.ExpiresAt}
		select {
		case w.msgs <- msg:
		case <-w.ctx.Done():
		}
	case wire.TypeConfig:
		if d, err := time.ParseDuration(m.Interval); err == nil {
			w.mu.Lock()
			w.interval = d
			w.mu.Unlock()
		}
	case wire.TypeError:
		w.opts.OnError(m.Error)
	}
}

// current returns the connection, waiting for one (bounded by ctx).
func (w *Worker) current(ctx context.Context) (*apiclient.WorkerConn, error) {
	for {
		w.mu.Lock()
		st, err := w.state, w.err
		w.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if st.conn != nil {
			select {
			case <-st.conn.Done(): // ended: wait for the next
			default:
				return st.conn, nil
			}
		}
		select {
		case <-st.next:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// tryWrite writes msg on the connection if there is one now, without
// waiting for one (bounded at 5 s: it runs on the connection's reader).
func (w *Worker) tryWrite(msg []byte) {
	w.mu.Lock()
	conn := w.state.conn
	w.mu.Unlock()
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	_ = conn.Send(ctx, msg)
}

// Send publishes p. An empty ID gets a random one, a zero TimeStamp now.
// It waits for a connection while the worker reconnects (bounded by ctx).
// A nil error means the record was written to a connection, not that it
// was published: the server answers a bad record through OnError.
func (w *Worker) Send(ctx context.Context, p tracking.Position) error {
	if p.ID == "" {
		p.ID = newID()
	}
	if p.TimeStamp.IsZero() {
		p.TimeStamp = time.Now()
	}
	return w.write(ctx, wire.AppendPosition(nil, &p))
}

// SendRaw publishes one record, or a JSON array of records, as given.
func (w *Worker) SendRaw(ctx context.Context, record []byte) error { return w.write(ctx, record) }

func (w *Worker) write(ctx context.Context, msg []byte) error {
	for {
		conn, err := w.current(ctx)
		if err != nil {
			return err
		}
		err = conn.Send(ctx, msg)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		// The connection broke under the write: try the next one.
		<-conn.Done()
	}
}

// Messages yields the managers' messages, each id once; it is closed when
// the worker ends. Acknowledge each with Ack (or the server sends it again
// on the next connection).
func (w *Worker) Messages() <-chan Message { return w.msgs }

// Ack tells the server the worker got message id.
func (w *Worker) Ack(ctx context.Context, id string) error {
	return w.write(ctx, wire.AppendWorkerReply(nil, wire.TypeAck, id))
}

// Read tells the server the worker's user read message id.
func (w *Worker) Read(ctx context.Context, id string) error {
	return w.write(ctx, wire.AppendWorkerReply(nil, wire.TypeRead, id))
}

// Interval is the server's latest sampling advice (how often to report),
// 0 before any.
func (w *Worker) Interval() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.interval
}

// Close ends the worker: its connection closes cleanly and Messages is
// closed. Idempotent; it waits for the worker's goroutines.
func (w *Worker) Close() error {
	w.stop()
	<-w.done
	return nil
}

// Err is why the worker ended (nil while it runs): the ctx's cause after
// Close or ctx, or a refused reconnection.
func (w *Worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
