package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

var positionsPrefix = []byte(`{"type":"positions","positions":`)

// streamWS reads the team's WebSocket stream until it ends. It returns nil
// when ctx is done, a *reconnectHint on {"type":"reconnect"} or close 1012.
func (m *manager) streamWS(ctx context.Context) error {
	header, err := m.cred.header(m.env.creds)
	if err != nil {
		return fmt.Errorf("websocket %s: %w", m.url, err)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, resp, err := websocket.Dial(dctx, m.url, &websocket.DialOptions{HTTPClient: m.env.client, HTTPHeader: header})
	cancel()
	if err != nil {
		if resp != nil {
			if aerr := refused(m.url, resp.StatusCode, resp.Body, header); aerr != nil {
				return aerr
			}
			return fmt.Errorf("websocket %s: status %s: %w", m.url, resp.Status, err)
		}
		return fmt.Errorf("websocket %s: %w", m.url, err)
	}
	c.SetReadLimit(64 << 20) // the first batches carry the team's snapshot
	defer m.connected()()

	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	defer func() {
		if stop() {
			c.CloseNow()
		} else {
			<-closed
		}
	}()

	hint := ""
	for {
		typ, r, err := c.Reader(context.Background()) // closed by the AfterFunc above
		if err == nil {
			m.buf, err = readAll(m.buf, r)
		}
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case hint != "":
				return &reconnectHint{reason: hint}
			case websocket.CloseStatus(err) == websocket.StatusServiceRestart:
				return &reconnectHint{reason: "close 1012"}
			}
			return fmt.Errorf("websocket %s: %w", m.url, err)
		}
		if typ != websocket.MessageText {
			continue
		}
		if h := m.handleWSMessage(m.buf, time.Now()); h != "" {
			hint = h
		}
	}
}

// handleWSMessage takes one message of the manager stream and returns the
// reason of a reconnect message.
func (m *manager) handleWSMessage(msg []byte, now time.Time) (reconnect string) {
	if rest, ok := bytes.CutPrefix(msg, positionsPrefix); ok {
		// The common case, read without decoding: the canonical records are
		// scanned in place.
		if !eachObject(rest, func(rec []byte) { m.handle(rec, now) }) {
			m.env.c.managerErrors.Add(1)
			m.env.c.fail(fmt.Errorf("websocket %s: malformed positions message", m.url))
		}
		return ""
	}
	var v struct {
		Type      string            `json:"type"`
		Positions []json.RawMessage `json:"positions"`
		Reason    string            `json:"reason"`
		Code      string            `json:"code"`
		Message   string            `json:"message"`
	}
	if err := json.Unmarshal(msg, &v); err != nil {
		m.env.c.managerErrors.Add(1)
		m.env.c.fail(fmt.Errorf("websocket %s: unreadable message: %w", m.url, err))
		return ""
	}
	switch v.Type {
	case "positions":
		for _, rec := range v.Positions {
			m.handle(rec, now)
		}
	case "reconnect":
		if v.Reason == "" {
			v.Reason = "unspecified"
		}
		return v.Reason
	case "error":
		m.env.c.managerErrors.Add(1)
		m.env.c.fail(fmt.Errorf("websocket %s: server error %s: %s", m.url, v.Code, v.Message))
	}
	return ""
}
