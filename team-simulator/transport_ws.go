package simulator

import (
	"context"
	"fmt"
	"net/http"

	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// wsConn is a worker's WebSocket (apiclient.WorkerConn): the worker goroutine
// writes, the client's reader goroutine counts the server's error answers.
type wsConn struct {
	c      *apiclient.WorkerConn
	env    *runEnv
	url    string
	cancel context.CancelFunc // of the connection's ctx, below the hard stop
}

var _ conn = (*wsConn)(nil)

// dialWS opens the WebSocket; the run's hard stop cuts it at once.
func dialWS(ctx context.Context, env *runEnv, c *apiclient.Client, header http.Header) (*wsConn, error) {
	w := &wsConn{env: env, url: c.BaseURL() + "ws"}
	// The hard stop ends the connection; ctx (the run) only the dial.
	dctx, cancel := context.WithCancel(env.hard)
	stop := context.AfterFunc(ctx, cancel)
	wc, err := c.DialWorker(dctx, w.answer)
	if !stop() || err != nil {
		cancel()
		if err == nil { // the run ended during the dial
			wc.CloseNow()
			err = ctx.Err()
		}
		return nil, refusal(err, header)
	}
	w.c, w.cancel = wc, cancel
	return w, nil
}

func (w *wsConn) answer(m *wire.ServerMessage) {
	if m.Type != wire.TypeError {
		return // a reconnect hint: Done and Err tell the worker
	}
	w.env.c.errors.Add(1)
	w.env.c.fail(fmt.Errorf("server rejected record %s: %s: %s", m.Error.ID, m.Error.Code, m.Error.Message))
	w.env.log.Debug("record rejected", "url", w.url, "id", m.Error.ID, "code", m.Error.Code, "message", m.Error.Message)
}

func (w *wsConn) send(rec []byte) error {
	// Background: no per-write timer; a write blocked on a silent peer is
	// released by the hard stop or abort.
	return w.c.Send(context.Background(), rec)
}

func (w *wsConn) done() <-chan struct{} { return w.c.Done() }

func (w *wsConn) err() error {
	if err := w.c.Err(); err != nil {
		return err
	}
	return errStreamClosed
}

func (w *wsConn) abort() { w.c.CloseNow() }

func (w *wsConn) close() {
	_ = w.c.Close()
	w.cancel()
}
