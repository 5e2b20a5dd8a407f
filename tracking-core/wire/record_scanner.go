package wire

import (
	"bufio"
	"errors"
	"io"
	"strconv"

	tracking "github.com/teamtrack/tracking-core"
)

// MaxRecordSize is the default limit of one record, in bytes.
const MaxRecordSize = 64 << 10

// RecordScanner splits a stream of JSON records, newline-delimited or concatenated
// with no separator, into single records without decoding them. A bad record
// yields an *tracking.Error and the scanner resynchronises at the end of that record or
// line, so one bad record never ends the stream. A record may not contain a raw
// newline (NDJSON rule): a newline inside an unterminated record ends it as bad.
type RecordScanner struct {
	r      *bufio.Reader
	max    int
	buf    []byte
	line   int // 1-based line of the current position, for error messages
	record int // count of records seen, good and bad
}

// NewRecordScanner returns a scanner over r with a per-record limit of max bytes
// (MaxRecordSize when max <= 0).
func NewRecordScanner(r io.Reader, max int) *RecordScanner {
	if max <= 0 {
		max = MaxRecordSize
	}
	return &RecordScanner{r: bufio.NewReaderSize(r, 32<<10), max: max, line: 1}
}

// Record is the 1-based index of the record last returned.
func (s *RecordScanner) Record() int { return s.record }

// Next returns the next record. Its bytes are valid until the following call.
// A *tracking.Error reports a bad record (call Next again for the rest of the stream);
// io.EOF ends a clean stream; any other error is the reader's.
func (s *RecordScanner) Next() ([]byte, error) {
	c, err := s.skipSpace()
	if err != nil {
		return nil, err
	}
	s.record++
	if c != '{' {
		if err := s.skipLine(); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, s.errorf(tracking.CodeInvalidJSON, "expected a JSON object, found %q", c)
	}
	s.buf = append(s.buf[:0], c)
	n, tooLarge := jsonNesting{depth: 1}, false
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, s.errorf(tracking.CodeInvalidJSON, "record truncated by the end of the stream")
			}
			return nil, err
		}
		if c == '\n' {
			s.line++
			return nil, s.errorf(tracking.CodeInvalidJSON, "record not terminated at the end of its line")
		}
		if !tooLarge {
			if len(s.buf) >= s.max {
				tooLarge = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, c)
			}
		}
		if n.step(c) {
			if tooLarge {
				return nil, s.errorf(tracking.CodeTooLarge, "record larger than %d bytes", s.max)
			}
			return s.buf, nil
		}
	}
}

func (s *RecordScanner) skipSpace() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		default:
			return c, nil
		}
	}
}

func (s *RecordScanner) skipLine() error {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		if c == '\n' {
			s.line++
			return nil
		}
	}
}

func (s *RecordScanner) errorf(code tracking.Code, format string, args ...any) *tracking.Error {
	e := tracking.Errorf(code, format, args...)
	e.Message = "record " + strconv.Itoa(s.record) + " (line " + strconv.Itoa(s.line) + "): " + e.Message
	return e
}
