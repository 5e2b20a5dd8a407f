package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// SSEBlock is what one block of a Server-Sent Events stream (the lines up to
// a blank line) carried. Byte slices are valid until the next call of Next.
type SSEBlock struct {
	// Event is the event name; "" for an unnamed (message) event.
	Event string
	// Data is the data of the event, its lines joined with '\n'; HasData
	// tells an empty data field from none (an event without data is not
	// dispatched by browsers).
	Data    []byte
	HasData bool
	// ID is the id field, if any.
	ID string
	// Retry is the retry field, if any (HasRetry).
	Retry    time.Duration
	HasRetry bool
	// Comments are the comment lines (without the ':' and one space), such as
	// SSEHeartbeat.
	Comments [][]byte
}

// Reconnect reports whether b is the reconnect event, and its reason
// ("unspecified" when the data does not say).
func (b *SSEBlock) Reconnect() (reason string, ok bool) {
	if b.Event != SSEReconnectEvent {
		return "", false
	}
	var v struct{ Reason string }
	if json.Unmarshal(b.Data, &v) != nil || v.Reason == "" {
		return "unspecified", true
	}
	return v.Reason, true
}

// SSEReader reads a Server-Sent Events stream block by block, without an
// allocation per event in the steady state.
type SSEReader struct {
	r        *bufio.Reader
	long     []byte // a line longer than the buffer, gathered
	data     []byte
	comments []byte // comment lines, back to back; block.Comments slice them
	block    SSEBlock
}

// NewSSEReader returns a reader of the stream r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next non-empty block. At the end of the stream it returns
// io.EOF (a block cut short by the end is dropped, as browsers do); other
// errors are the reader's.
func (s *SSEReader) Next() (*SSEBlock, error) {
	b := &s.block
	*b = SSEBlock{Comments: b.Comments[:0]}
	s.data, s.comments = s.data[:0], s.comments[:0]
	empty := true
	for {
		line, err := s.line()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read event stream: %w", err)
		}
		if len(line) == 0 {
			if empty {
				continue
			}
			b.Data = s.data
			return b, nil
		}
		empty = false
		if line[0] == ':' {
			c := bytes.TrimPrefix(line[1:], []byte{' '})
			// Should append move s.comments, the comments already sliced
			// keep the old array, which nothing writes to again.
			s.comments = append(s.comments, c...)
			b.Comments = append(b.Comments, s.comments[len(s.comments)-len(c):])
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "data":
			if b.HasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			b.HasData = true
		case "event":
			b.Event = eventName(value)
		case "id":
			b.ID = string(value)
		case "retry":
			if ms, err := strconv.ParseInt(string(value), 10, 64); err == nil {
				b.Retry, b.HasRetry = time.Duration(ms)*time.Millisecond, true
			}
		}
	}
}

// eventName returns value as a string, without allocating for the names
// this API uses.
func eventName(value []byte) string {
	switch string(value) {
	case SSEReconnectEvent:
		return SSEReconnectEvent
	case SSEResetEvent:
		return SSEResetEvent
	case SSEEndEvent:
		return SSEEndEvent
	case SSEStatusEvent:
		return SSEStatusEvent
	case SSEAlertEvent:
		return SSEAlertEvent
	case "message":
		return ""
	}
	return string(value)
}

// line returns the next line without its line ending.
func (s *SSEReader) line() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
