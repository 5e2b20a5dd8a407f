package simulator

import (
	"context"
	"fmt"
	"time"

	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// streamSSE watches the team over Server-Sent Events until the stream ends.
func (m *manager) streamSSE(ctx context.Context) error {
	return m.stream(ctx, (*apiclient.Client).WatchSSEAfter)
}

// streamWS watches the team over a WebSocket until the stream ends.
func (m *manager) streamWS(ctx context.Context) error {
	return m.stream(ctx, (*apiclient.Client).WatchWSAfter)
}

// stream reads the team's stream until it ends. It returns nil when ctx is
// done, an *apiclient.ReconnectError when the server asks to reconnect.
// With resume, it asks for what came after the last stream id it saw.
func (m *manager) stream(ctx context.Context, watch func(*apiclient.Client, context.Context, string, string) (apiclient.ManagerStream, error)) error {
	header, err := m.cred.header(m.env.creds)
	if err != nil {
		return fmt.Errorf("manager %s: %w", m.team.name, err)
	}
	client := m.client
	if client == nil {
		client = m.env.client
	}
	c, err := apiclient.New(m.base, apiclient.Config{HTTPClient: client, Header: header, DialTimeout: dialTimeout})
	if err != nil {
		return err
	}
	after := ""
	if m.resume {
		after = m.lastID
	}
	s, err := watch(c, ctx, m.team.name, after)
	if err != nil {
		return refusal(err, header)
	}
	defer s.Close()
	defer m.connected()()
	for {
		ev, err := s.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := time.Now()
		for _, rec := range ev.Positions {
			m.handle(rec, now)
		}
		if ev.ID != "" {
			m.lastID = ev.ID
		}
		if ev.Alert != nil {
			// Alerts are counted apart: they are not positions.
			m.env.c.alerts[alertKind(ev.Alert)].Add(1)
		}
		if e := ev.Error; e != nil {
			m.env.c.managerErrors.Add(1)
			m.env.c.fail(fmt.Errorf("manager of %s: server error %s: %s", m.team.name, e.Code, e.Message))
		}
	}
}
