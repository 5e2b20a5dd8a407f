package simulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// streamSSE reads the team's Server-Sent Events until the stream ends. It
// returns nil when ctx is done, a *reconnectHint on event: reconnect.
func (m *manager) streamSSE(ctx context.Context) error {
	header, err := m.cred.header(m.env.creds)
	if err != nil {
		return fmt.Errorf("sse %s: %w", m.url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return fmt.Errorf("sse %s: %w", m.url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := m.env.client.Do(req)
	if err != nil {
		return fmt.Errorf("sse %s: %w", m.url, err)
	}
	defer resp.Body.Close()
	if aerr := refused(m.url, resp.StatusCode, resp.Body, req.Header); aerr != nil {
		return aerr
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("sse %s: status %s: %s", m.url, resp.Status, bytes.TrimSpace(body))
	}
	defer m.connected()()

	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var event []byte
	hasData := false
	m.data = m.data[:0]
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // longer than the buffer: gather it
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("sse %s: stream ended without a reconnect event", m.url)
			}
			return fmt.Errorf("sse %s: %w", m.url, err)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		if len(line) == 0 { // end of an event: dispatch it
			if hasData {
				if len(event) == 0 || string(event) == "message" {
					m.handle(m.data, time.Now())
				} else if string(event) == "reconnect" {
					var v struct{ Reason string }
					if json.Unmarshal(m.data, &v) != nil || v.Reason == "" {
						v.Reason = "unspecified"
					}
					return &reconnectHint{reason: v.Reason}
				}
			}
			event, hasData, m.data = event[:0], false, m.data[:0]
			continue
		}
		if line[0] == ':' { // comment: heartbeat
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "data":
			if hasData {
				m.data = append(m.data, '\n')
			}
			m.data = append(m.data, value...)
			hasData = true
		case "event":
			event = append(event[:0], value...)
		}
	}
}
