package wire

import (
	"fmt"
)

// AppendArrayElements appends each element of the JSON array b (white space
// around allowed) to dst, undecoded: the elements alias b. It checks the
// array's structure (brackets, strings, commas between elements), not the
// syntax of the elements themselves, which the reader decodes anyway.
func AppendArrayElements(dst [][]byte, b []byte) ([][]byte, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return dst, fmt.Errorf("split JSON array: not an array")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		if skipSpace(b, i+1) != len(b) {
			return dst, fmt.Errorf("split JSON array: data after the array")
		}
		return dst, nil
	}
	for {
		end := valueEnd(b, i)
		if end < 0 {
			return dst, fmt.Errorf("split JSON array: element %d is malformed", len(dst)+1)
		}
		dst = append(dst, b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return dst, fmt.Errorf("split JSON array: unterminated")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			if skipSpace(b, i+1) != len(b) {
				return dst, fmt.Errorf("split JSON array: data after the array")
			}
			return dst, nil
		default:
			return dst, fmt.Errorf("split JSON array: %q after element %d", b[i], len(dst))
		}
	}
}

// valueEnd returns the index just past the JSON value starting at b[i]
// (an object, an array, a string or a scalar), or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '{', '[':
		var n jsonNesting
		for ; i < len(b); i++ {
			if n.step(b[i]) {
				return i + 1
			}
		}
		return -1
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case ',', ']', '}', ':':
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != '}' && !isSpace(b[j]) {
		j++
	}
	return j
}

// jsonNesting follows the nesting of objects and arrays byte by byte,
// stepping over strings and their escapes. It checks no other syntax.
type jsonNesting struct {
	depth             int
	inString, escaped bool
}

// step takes the next byte and reports whether it closed the outermost
// object or array.
func (n *jsonNesting) step(c byte) bool {
	switch {
	case n.escaped:
		n.escaped = false
	case n.inString:
		n.escaped = c == '\\'
		n.inString = c != '"'
	case c == '"':
		n.inString = true
	case c == '{' || c == '[':
		n.depth++
	case c == '}' || c == ']':
		n.depth--
		return n.depth == 0
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
