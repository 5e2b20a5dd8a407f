package wire

// A single-pass decoder for the position record.
//
// DecodePosition used to json.Unmarshal the record into a struct of
// json.RawMessage and then unmarshal every field again (~44 allocations). The
// decoder here walks the record once, validating the JSON syntax of the whole
// input exactly as encoding/json does and remembering where the value of each
// known key lies; only then are the values converted and checked, in the same
// order as before, so that:
//
//   - malformed JSON anywhere (even after a bad field) is tracking.CodeInvalidJSON, which
//     takes precedence over any field error, as json.Unmarshal rejected the
//     whole input before any field was looked at;
//   - field errors have the same Code, Field and Message as before, and the
//     tracking.Position returned with an error holds the same fields as before (those
//     decoded ahead of the failing one);
//   - keys match as in encoding/json: exact name first, otherwise
//     case-insensitively with Unicode simple folding ("WorkerID", "TIMESTAMP",
//     and even U+017F LATIN SMALL LETTER LONG S for 's' and U+212A KELVIN SIGN
//     for 'k', which are the only non-ASCII runes that fold to ASCII letters);
//     escapes in keys are decoded before matching; of duplicate keys the last
//     one wins (a later null clears an earlier value);
//   - strings are decoded as encoding/json does: \uXXXX escapes, surrogate
//     pairs, lone surrogates and invalid UTF-8 bytes become U+FFFD;
//   - the nesting limit is encoding/json's 10000 levels.
//
// On the common path (no escapes) the three identifiers share one allocation,
// the optional numbers another, and numbers and timestamps are parsed from
// the input bytes without copying them to the heap.

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

// maxNestingDepth is encoding/json's limit on nested objects and arrays.
const maxNestingDepth = 10000

// Slots of rawValue in recordScanner.vals, one per key the record may carry.
const (
	keyID = iota
	keyWorkerID
	keyTeam
	keyLocation
	keyTimeStamp
	keyAccuracy
	keySpeed
	keyHeading
	keyBattery
	keyLatitude  // inside location
	keyLongitude // inside location
	numKeys
)

// keyNames are the JSON names of the slots, as the struct tags had them.
var keyNames = [numKeys]string{
	keyID:        "id",
	keyWorkerID:  "workerId",
	keyTeam:      "team",
	keyLocation:  "location",
	keyTimeStamp: "timeStamp",
	keyAccuracy:  "accuracy",
	keySpeed:     "speed",
	keyHeading:   "heading",
	keyBattery:   "battery",
	keyLatitude:  "latitude",
	keyLongitude: "longitude",
}

// Flags of a string value.
const (
	strEscaped  = 1 << iota // contains a backslash escape
	strNonASCII             // contains a byte >= 0x80 (possibly invalid UTF-8)
)

// rawValue locates one JSON value of the record: data[start:end], without
// surrounding white space. end == 0 means the key was absent.
type rawValue struct {
	start, end int
	flags      uint8 // strEscaped, strNonASCII for strings
}

// recordScanner validates a record and records where its known values are.
type recordScanner struct {
	data []byte
	pos  int
	vals [numKeys]rawValue
}

// decodePosition is DecodePosition on a record that starts with '{' and has
// no surrounding white space.
func decodePosition(data []byte, now time.Time) (tracking.Position, error) {
	var p tracking.Position
	s := recordScanner{data: data}
	if err := s.scanRecord(); err != nil {
		return p, err
	}

	// From here on the order of the checks, and what p holds when one fails,
	// is that of the original field-by-field decoder.
	id, worker, team := s.vals[keyID], s.vals[keyWorkerID], s.vals[keyTeam]
	if !s.isNull(id) && s.data[id.start] != '"' {
		return p, fieldError("id", "must be a string")
	}
	if err := s.checkString("workerId", worker); err != nil {
		p.ID = s.stringValue(id)
		return p, err
	}
	if err := s.checkString("team", team); err != nil {
		p.ID, p.WorkerID = s.stringValue(id), s.stringValue(worker)
		return p, err
	}
	// One allocation for the three: they live as long as each other.
	var buf [256]byte
	b := s.appendString(buf[:0], id)
	nID := len(b)
	b = s.appendString(b, worker)
	nWorker := len(b)
	b = s.appendString(b, team)
	all := string(b)
	p.ID, p.WorkerID, p.Team = all[:nID], all[nID:nWorker], all[nWorker:]

	if loc := s.vals[keyLocation]; s.isNull(loc) {
		return p, fieldError("location", "is required")
	} else if s.data[loc.start] != '{' {
		return p, fieldError("location", "must be an object with latitude and longitude")
	}
	var err error
	if p.Location.Latitude, err = s.requiredNumber("location.latitude", s.vals[keyLatitude]); err != nil {
		return p, err
	}
	if p.Location.Longitude, err = s.requiredNumber("location.longitude", s.vals[keyLongitude]); err != nil {
		return p, err
	}
	if p.TimeStamp, err = s.timeStamp(s.vals[keyTimeStamp], now); err != nil {
		return p, err
	}

	// accuracy, speed, heading, battery: one allocation for those present.
	var opt [numOptional]float64
	var has [numOptional]bool
	for i := range opt {
		k := keyAccuracy + i
		v := s.vals[k]
		if s.isNull(v) {
			continue
		}
		if opt[i], err = s.requiredNumber(keyNames[k], v); err != nil {
			setOptional(&p, &opt, &has) // those before k, as the field-by-field decoder left them
			return p, err
		}
		has[i] = true
	}
	setOptional(&p, &opt, &has)

	if p.ID == "" {
		p.ID = tracking.NewID()
	}
	return p, p.Validate(now)
}

// numOptional is the number of optional numbers, the slots keyAccuracy to
// keyBattery.
const numOptional = keyBattery - keyAccuracy + 1

// setOptional points p.Accuracy, Speed, Heading and Battery at a copy of the
// values present, all in one allocation just large enough for them.
func setOptional(p *tracking.Position, opt *[numOptional]float64, has *[numOptional]bool) {
	n := 0
	for _, h := range has {
		if h {
			n++
		}
	}
	if n == 0 {
		return
	}
	heap := make([]float64, 0, n)
	fields := [numOptional]**float64{&p.Accuracy, &p.Speed, &p.Heading, &p.Battery}
	for i, h := range has {
		if h {
			heap = append(heap, opt[i])
			*fields[i] = &heap[len(heap)-1]
		}
	}
}

func (s *recordScanner) isNull(v rawValue) bool {
	// After scanning, the only valid value starting with 'n' is null.
	return v.end == 0 || s.data[v.start] == 'n'
}

// checkString checks a required string field.
func (s *recordScanner) checkString(field string, v rawValue) error {
	if s.isNull(v) {
		return fieldError(field, "is required")
	}
	if s.data[v.start] != '"' {
		return fieldError(field, "must be a string")
	}
	return nil
}

// appendString appends the decoded value of the string v to dst; nothing for
// null or absent.
func (s *recordScanner) appendString(dst []byte, v rawValue) []byte {
	if s.isNull(v) {
		return dst
	}
	body := s.data[v.start+1 : v.end-1]
	if v.flags&strEscaped == 0 && (v.flags&strNonASCII == 0 || utf8.Valid(body)) {
		return append(dst, body...)
	}
	return appendUnquoted(dst, body)
}

// stringValue returns the decoded string v ("" for null or absent).
func (s *recordScanner) stringValue(v rawValue) string {
	var buf [64]byte
	return string(s.appendString(buf[:0], v))
}

// requiredNumber accepts a JSON number or, in the legacy form, a string
// holding one (surrounding white space allowed).
func (s *recordScanner) requiredNumber(field string, v rawValue) (float64, error) {
	if s.isNull(v) {
		return 0, fieldError(field, "is required")
	}
	text := s.data[v.start:v.end]
	var buf [64]byte
	switch c := text[0]; {
	case c == '"':
		text = bytes.TrimSpace(s.appendString(buf[:0], v))
	case c != '-' && (c < '0' || c > '9'):
		return 0, fieldError(field, "must be a number or a numeric string")
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || !finite(f) {
		return 0, fieldError(field, "must be a finite number, got %q", clip(string(text), 32))
	}
	return f, nil
}

// timeStamp accepts RFC 3339 or the legacy dd/MM/yyyy HH:mm:ss (UTC). A record
// with no timestamp is stamped with the time it was received.
func (s *recordScanner) timeStamp(v rawValue, now time.Time) (time.Time, error) {
	if s.isNull(v) {
		return now.UTC(), nil
	}
	if s.data[v.start] != '"' {
		return time.Time{}, fieldError("timeStamp", "must be a string (RFC 3339 or dd/MM/yyyy HH:mm:ss)")
	}
	var buf [64]byte
	text := string(s.appendString(buf[:0], v))
	// A '/' among the first four bytes cannot be part of an RFC 3339 year:
	// spare the legacy form a failing (and allocating) time.Parse.
	if len(text) < 3 || text[2] != '/' {
		if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			return t.UTC(), nil
		}
	}
	return parseLegacyTimeStamp(text)
}

// appendUnquoted appends the decoded body of a valid JSON string literal
// (without its quotes) to dst, exactly as encoding/json decodes it: escapes
// are decoded, a \u escape of a surrogate not followed by the \u escape of its
// pair yields U+FFFD, and so does every byte of invalid UTF-8.
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := rune(-1)
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						rr1 = hex4(s[r+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			r += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[r:r+size]...)
			}
			r += size
		}
	}
	return dst
}

// hex4 decodes four hex digits (validated by the scanner).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// matchKey reports which of the slots names[from:to] the (raw, still quoted)
// key k designates, or -1.
func (s *recordScanner) matchKey(k rawValue, from, to int) int {
	body := s.data[k.start+1 : k.end-1]
	if k.flags&strEscaped != 0 {
		var buf [32]byte
		body = appendUnquoted(buf[:0], body)
	}
	if i := exactKey(body); i >= from && i < to {
		return i
	}
	for i := from; i < to; i++ {
		if foldEqual(body, keyNames[i]) {
			return i
		}
	}
	return -1
}

// exactKey returns the slot named exactly key, or -1.
func exactKey(key []byte) int {
	switch string(key) {
	case "id":
		return keyID
	case "workerId":
		return keyWorkerID
	case "team":
		return keyTeam
	case "location":
		return keyLocation
	case "timeStamp":
		return keyTimeStamp
	case "accuracy":
		return keyAccuracy
	case "speed":
		return keySpeed
	case "heading":
		return keyHeading
	case "battery":
		return keyBattery
	case "latitude":
		return keyLatitude
	case "longitude":
		return keyLongitude
	}
	return -1
}

// foldEqual reports whether key equals name under encoding/json's key folding
// (Unicode simple folding). name is made of ASCII letters only, so a key byte
// matches when it is the same letter in either case, or when the key has one
// of the two non-ASCII runes that fold to an ASCII letter: U+017F (s) and
// U+212A (k). Any other non-ASCII byte, valid or not, cannot match.
func foldEqual(key []byte, name string) bool {
	i := 0
	for j := 0; j < len(name); j++ {
		if i >= len(key) {
			return false
		}
		c := name[j] | 0x20 // lower case; name is letters only
		if b := key[i]; b < utf8.RuneSelf {
			if b|0x20 != c {
				return false
			}
			i++
			continue
		}
		switch {
		case c == 's' && i+1 < len(key) && key[i] == 0xc5 && key[i+1] == 0xbf: // ſ
			i += 2
		case c == 'k' && i+2 < len(key) && key[i] == 0xe2 && key[i+1] == 0x84 && key[i+2] == 0xaa: // K
			i += 3
		default:
			return false
		}
	}
	return i == len(key)
}

// scanRecord validates the whole record, a JSON object, and fills s.vals.
func (s *recordScanner) scanRecord() error {
	s.pos = 1 // '{'
	if err := s.scanObject(keyID, keyLatitude, 1); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos < len(s.data) {
		return s.syntaxError("after top-level value")
	}
	return nil
}

// scanObject scans the members of an object whose '{' has been consumed and
// whose nesting level is depth, recording the values of keys that match the
// slots from..to-1.
func (s *recordScanner) scanObject(from, to, depth int) error {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		if s.pos >= len(s.data) {
			return s.syntaxError("")
		}
		if s.data[s.pos] != '"' {
			return s.syntaxError("looking for beginning of object key string")
		}
		start := s.pos
		flags, err := s.scanString()
		if err != nil {
			return err
		}
		slot := s.matchKey(rawValue{start: start, end: s.pos, flags: flags}, from, to)
		if err := s.colon(); err != nil {
			return err
		}
		start = s.pos
		if slot == keyLocation {
			// The last location wins, with whatever it holds.
			s.vals[keyLatitude], s.vals[keyLongitude] = rawValue{}, rawValue{}
			if s.pos < len(s.data) && s.data[s.pos] == '{' {
				s.pos++
				err = s.scanObject(keyLatitude, keyLongitude+1, depth+1)
			} else {
				flags, err = s.scanValue(depth)
			}
		} else {
			flags, err = s.scanValue(depth)
		}
		if err != nil {
			return err
		}
		if slot >= 0 {
			s.vals[slot] = rawValue{start: start, end: s.pos, flags: flags}
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.syntaxError("")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxError("after object key:value pair")
		}
	}
}

// colon consumes white space, ':' and white space.
func (s *recordScanner) colon() error {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.syntaxError("")
	}
	if s.data[s.pos] != ':' {
		return s.syntaxError("after object key")
	}
	s.pos++
	s.skipSpace()
	return nil
}

// scanValue scans any JSON value at s.pos, inside a container at nesting level
// depth. For a string it returns its flags.
func (s *recordScanner) scanValue(depth int) (uint8, error) {
	if s.pos >= len(s.data) {
		return 0, s.syntaxError("")
	}
	if c := s.data[s.pos]; c != '{' && c != '[' {
		return s.scanScalar()
	}
	// An object or an array: skip it without recursion, keeping the kinds of
	// the open containers in stack.
	var stackBuf [64]byte
	stack := stackBuf[:0]
	for {
		// s.pos is at the start of a value.
		if s.pos >= len(s.data) {
			return 0, s.syntaxError("")
		}
		if c := s.data[s.pos]; c == '{' || c == '[' {
			if depth+len(stack)+1 > maxNestingDepth {
				return 0, s.syntaxError("exceeded max depth")
			}
			s.pos++
			s.skipSpace()
			if s.pos < len(s.data) && s.data[s.pos] == c+2 { // '}' or ']'
				s.pos++
			} else {
				stack = append(stack, c)
				if c == '{' {
					if err := s.objectKey(); err != nil {
						return 0, err
					}
				}
				continue
			}
		} else if _, err := s.scanScalar(); err != nil {
			return 0, err
		}
		// After a value: close containers, or go on to the next member.
		for {
			if len(stack) == 0 {
				return 0, nil
			}
			s.skipSpace()
			if s.pos >= len(s.data) {
				return 0, s.syntaxError("")
			}
			open := stack[len(stack)-1]
			c := s.data[s.pos]
			if c == ',' {
				s.pos++
				s.skipSpace()
				if open == '{' {
					if err := s.objectKey(); err != nil {
						return 0, err
					}
				}
				break
			}
			if c != open+2 {
				if open == '{' {
					return 0, s.syntaxError("after object key:value pair")
				}
				return 0, s.syntaxError("after array element")
			}
			s.pos++
			stack = stack[:len(stack)-1]
		}
	}
}

// objectKey scans a key and the colon after it.
func (s *recordScanner) objectKey() error {
	if s.pos >= len(s.data) {
		return s.syntaxError("")
	}
	if s.data[s.pos] != '"' {
		return s.syntaxError("looking for beginning of object key string")
	}
	if _, err := s.scanString(); err != nil {
		return err
	}
	return s.colon()
}

// scanScalar scans a string, number or literal at s.pos.
func (s *recordScanner) scanScalar() (uint8, error) {
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.scanString()
	case c == '-' || c >= '0' && c <= '9':
		return 0, s.scanNumber()
	case c == 't':
		return 0, s.literal("true")
	case c == 'f':
		return 0, s.literal("false")
	case c == 'n':
		return 0, s.literal("null")
	}
	return 0, s.syntaxError("looking for beginning of value")
}

func (s *recordScanner) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if s.pos >= len(s.data) {
			return s.syntaxError("")
		}
		if s.data[s.pos] != lit[i] {
			return s.syntaxError("in literal " + lit + " (expecting " + strconv.QuoteRune(rune(lit[i])) + ")")
		}
		s.pos++
	}
	return nil
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *recordScanner) scanNumber() error {
	d, i := s.data, s.pos
	if d[i] == '-' {
		i++
	}
	s.pos = i
	switch {
	case i >= len(d):
		return s.syntaxError("")
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		i = skipDigits(d, i+1)
	default:
		return s.syntaxError("in numeric literal")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if s.pos = i; i >= len(d) {
			return s.syntaxError("")
		}
		if d[i] < '0' || d[i] > '9' {
			return s.syntaxError("after decimal point in numeric literal")
		}
		i = skipDigits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if s.pos = i; i >= len(d) {
			return s.syntaxError("")
		}
		if d[i] < '0' || d[i] > '9' {
			return s.syntaxError("in exponent of numeric literal")
		}
		i = skipDigits(d, i)
	}
	s.pos = i
	return nil
}

func skipDigits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// scanString scans a string literal at s.pos and returns its flags.
func (s *recordScanner) scanString() (uint8, error) {
	var flags uint8
	d := s.data
	for i := s.pos + 1; i < len(d); {
		c := d[i]
		if plainStringByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return flags, nil
		case c == '\\':
			flags |= strEscaped
			if i+1 >= len(d) {
				s.pos = len(d)
				return 0, s.syntaxError("")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				i += 2
				for k := 0; k < 4; k++ {
					if i >= len(d) {
						s.pos = i
						return 0, s.syntaxError("")
					}
					if !isHex(d[i]) {
						s.pos = i
						return 0, s.syntaxError("in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				s.pos = i + 1
				return 0, s.syntaxError("in string escape code")
			}
		case c < ' ':
			s.pos = i
			return 0, s.syntaxError("in string literal")
		default: // >= 0x80
			flags |= strNonASCII
			i++
		}
	}
	s.pos = len(d)
	return 0, s.syntaxError("")
}

// plainStringByte marks the bytes scanString can pass over: ASCII except
// control characters, '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *recordScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// syntaxError reports malformed JSON at s.pos, in the words of encoding/json:
// context "" means the input ended too early.
func (s *recordScanner) syntaxError(context string) error {
	var msg string
	if context == "" || s.pos >= len(s.data) {
		msg = "unexpected end of JSON input"
	} else {
		msg = "invalid character " + quoteChar(s.data[s.pos]) + " " + context
	}
	msg += " at offset " + strconv.Itoa(s.pos)
	return &tracking.Error{Code: tracking.CodeInvalidJSON, Message: "malformed JSON: " + msg}
}

// quoteChar formats c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}
