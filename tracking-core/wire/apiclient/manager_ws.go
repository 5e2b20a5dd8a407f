package apiclient

import (
	"context"
	"fmt"
	"io"
	neturl "net/url"
	"sync"

	"github.com/coder/websocket"

	"github.com/teamtrack/tracking-core/wire"
)

// WatchWS opens the team's WebSocket stream ({base}/{team}/ws); a refusal
// is a *StatusError. When ctx is done the connection is closed with a normal
// close handshake (bounded by the library at 5 s); Close does the same.
func (c *Client) WatchWS(ctx context.Context, team string) (ManagerStream, error) {
	return c.WatchWSAfter(ctx, team, "")
}

// WatchWSAfter is WatchWS resuming after the stream id since (the since
// parameter); "" starts from the snapshot.
func (c *Client) WatchWSAfter(ctx context.Context, team, since string) (ManagerStream, error) {
	var query neturl.Values
	if since != "" {
		query = neturl.Values{"since": {since}}
	}
	return c.openWS(ctx, c.urlWith("/"+team+"/ws", query))
}

// ReplayWS opens the team's replay ({base}/{team}/replay with query: from,
// to, speed) over a WebSocket. Its last Event has End set; Next then returns
// io.EOF.
func (c *Client) ReplayWS(ctx context.Context, team string, query neturl.Values) (ManagerStream, error) {
	return c.openWS(ctx, c.urlWith("/"+team+"/replay", query))
}

func (c *Client) openWS(ctx context.Context, url string) (ManagerStream, error) {
	conn, err := c.dialWS(ctx, url)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20) // the first batches carry the team's snapshot
	s := &wsStream{ctx: ctx, conn: conn, url: redact(url), closed: make(chan struct{})}
	s.stop = context.AfterFunc(ctx, s.closeConn)
	return s, nil
}

type wsStream struct {
	ctx    context.Context
	conn   *websocket.Conn
	url    string
	stop   func() bool
	once   sync.Once
	closed chan struct{}
	buf    []byte
	hint   string // reason of a reconnect message: the close that follows ends the stream
	end    wire.ReplayEnd
	ended  bool // a replay's end came: the normal close that follows is io.EOF
	msg    wire.ServerMessage
	ev     Event
}

func (s *wsStream) closeConn() {
	s.once.Do(func() {
		defer close(s.closed)
		_ = s.conn.Close(websocket.StatusNormalClosure, "")
	})
}

func (s *wsStream) Next() (*Event, error) {
	for {
		// No Done on this context: the AfterFunc of WatchWS or Close ends a
		// blocked read, without a timer per read.
		typ, r, err := s.conn.Reader(context.Background())
		if err == nil {
			s.buf, err = readAll(s.buf, r)
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return nil, context.Cause(s.ctx)
			}
			if s.ended {
				return nil, io.EOF
			}
			return nil, wsEndError(s.hint, err, s.url)
		}
		if typ != websocket.MessageText {
			continue
		}
		if err := wire.DecodeServerMessage(&s.msg, s.buf); err != nil {
			return nil, fmt.Errorf("websocket %s: %w", s.url, err)
		}
		s.ev = Event{}
		switch s.msg.Type {
		case wire.TypePositions:
			s.ev.Positions, s.ev.ID = s.msg.Positions, s.msg.ID
		case wire.TypeReset:
			s.ev.Reset = true
		case wire.TypeStatus:
			s.ev.Status, s.ev.ID = s.msg.Event, s.msg.ID
		case wire.TypeAlert:
			s.ev.Alert, s.ev.ID = s.msg.Event, s.msg.ID
		case wire.TypeDelivery:
			s.ev.Delivery, s.ev.ID = s.msg.Event, s.msg.ID
		case wire.TypeEnd:
			s.end, s.ended = s.msg.End, true
			s.ev.End = &s.end
		case wire.TypeReconnect:
			// The server closes next (1012); read on to that close.
			s.hint = s.msg.Reason
			if s.hint == "" {
				s.hint = "unspecified"
			}
			continue
		case wire.TypeError:
			s.ev.Error = &s.msg.Error
		default:
			continue
		}
		return &s.ev, nil
	}
}

func (s *wsStream) Close() error {
	if s.stop() {
		s.closeConn()
	}
	<-s.closed
	return nil
}
