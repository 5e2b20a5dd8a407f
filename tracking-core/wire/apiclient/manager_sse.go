package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"sync"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

// WatchSSE opens the team's Server-Sent Events stream ({base}/{team}) and
// returns once the response headers arrived (within DialTimeout): a refusal
// is a *StatusError. The stream lasts until ctx is done or Close.
func (c *Client) WatchSSE(ctx context.Context, team string) (ManagerStream, error) {
	return c.WatchSSEAfter(ctx, team, "")
}

// WatchSSEAfter is WatchSSE resuming after the stream id lastEventID (sent
// as the Last-Event-ID header, as a browser's EventSource does when it
// reconnects); "" starts from the snapshot.
func (c *Client) WatchSSEAfter(ctx context.Context, team, lastEventID string) (ManagerStream, error) {
	return c.openSSE(ctx, c.url("/"+team), lastEventID)
}

// ReplaySSE opens the team's replay ({base}/{team}/replay with query: from,
// to, speed) as Server-Sent Events. Its last Event has End set; Next then
// returns io.EOF.
func (c *Client) ReplaySSE(ctx context.Context, team string, query neturl.Values) (ManagerStream, error) {
	return c.openSSE(ctx, c.urlWith("/"+team+"/replay", query), "")
}

func (c *Client) openSSE(ctx context.Context, url, lastEventID string) (ManagerStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sse %s: %w", redact(url), err)
	}
	for k, v := range c.header() {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	// The headers must come within DialTimeout; the stream then lives on.
	slow := time.AfterFunc(c.cfg.DialTimeout, cancel)
	resp, err := c.cfg.HTTPClient.Do(req)
	if !slow.Stop() && err == nil {
		resp.Body.Close()
		err = fmt.Errorf("no answer within %s", c.cfg.DialTimeout)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sse %s: %w", redact(url), err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return nil, newStatusError(http.MethodGet, url, resp, nil)
	}
	return &sseStream{ctx: ctx, cancel: cancel, body: resp.Body, r: wire.NewSSEReader(resp.Body), url: redact(url)}, nil
}

type sseStream struct {
	ctx       context.Context
	cancel    context.CancelFunc
	body      io.ReadCloser
	r         *wire.SSEReader
	url       string
	ev        Event
	one       [1][]byte
	end       wire.ReplayEnd
	ended     bool
	closeOnce sync.Once
}

func (s *sseStream) Next() (*Event, error) {
	if s.ended {
		return nil, io.EOF
	}
	for {
		b, err := s.r.Next()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil, context.Cause(s.ctx)
			}
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("sse %s: stream ended without a reconnect event: %w", s.url, io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("sse %s: %w", s.url, err)
		}
		if reason, ok := b.Reconnect(); ok {
			s.Close()
			return nil, &ReconnectError{Reason: reason}
		}
		if b.Event == wire.SSEEndEvent {
			s.ended = true
			if err := json.Unmarshal(b.Data, &s.end); err != nil {
				return nil, fmt.Errorf("sse %s: end event: %w", s.url, err)
			}
			s.ev = Event{End: &s.end}
			return &s.ev, nil
		}
		s.ev = Event{Positions: s.ev.Positions[:0], Comments: b.Comments, Retry: b.Retry, ID: b.ID,
			Reset: b.Event == wire.SSEResetEvent}
		switch {
		case b.HasData && b.Event == "":
			s.one[0] = b.Data
			s.ev.Positions = s.one[:]
		case b.HasData && b.Event == wire.SSEStatusEvent:
			s.ev.Status = b.Data
		case b.HasData && b.Event == wire.SSEAlertEvent:
			s.ev.Alert = b.Data
		case b.HasData && b.Event == wire.SSEDeliveryEvent:
			s.ev.Delivery = b.Data
		}
		if len(s.ev.Positions) > 0 || len(s.ev.Comments) > 0 || s.ev.Retry > 0 || s.ev.ID != "" || s.ev.Reset ||
			s.ev.Status != nil || s.ev.Alert != nil || s.ev.Delivery != nil {
			return &s.ev, nil
		}
		// Another named event: not part of this API; skip it.
	}
}

func (s *sseStream) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.body.Close()
	})
	return nil
}
