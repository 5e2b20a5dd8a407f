package wire_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

type scanned struct {
	rec  string
	code tracking.Code
}

func scanAll(t *testing.T, in string, max int) []scanned {
	t.Helper()
	sc := wire.NewRecordScanner(strings.NewReader(in), max)
	var out []scanned
	for {
		rec, err := sc.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		var e *tracking.Error
		if errors.As(err, &e) {
			out = append(out, scanned{code: e.Code})
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, scanned{rec: string(rec)})
	}
}

func TestScannerSplitsNDJSONAndConcatenated(t *testing.T) {
	in := "{\"a\":1}\n{\"b\":\"}{\\\"\"}{\"c\":[{\"d\":2}]}\r\n\n  {\"e\":3}"
	want := []scanned{{rec: `{"a":1}`}, {rec: `{"b":"}{\""}`}, {rec: `{"c":[{"d":2}]}`}, {rec: `{"e":3}`}}
	if got := scanAll(t, in, 0); !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestScannerResynchronises(t *testing.T) {
	in := "garbage here\n{\"a\":1}\n{\"broken\":\n{\"b\":2}\n{\"big\":\"" + strings.Repeat("x", 100) + "\"}\n{\"c\":3}\n{\"tail\":"
	got := scanAll(t, in, 64)
	want := []scanned{
		{code: tracking.CodeInvalidJSON}, {rec: `{"a":1}`}, {code: tracking.CodeInvalidJSON},
		{rec: `{"b":2}`}, {code: tracking.CodeTooLarge}, {rec: `{"c":3}`}, {code: tracking.CodeInvalidJSON},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// FuzzRecordScanner feeds arbitrary streams to the scanner: it must never
// panic or loop, every record it returns must be a balanced JSON-looking
// object within the size limit, and it must always reach the end of the input.
func FuzzRecordScanner(f *testing.F) {
	for _, seed := range []string{
		"{\"a\":1}\n{\"b\":2}",
		"{\"a\":1}{\"b\":\"}{\"}",
		"garbage\n{\"ok\":true}\n",
		"{\"broken\":\n{\"x\":[1,{\"y\":\"\\\"\"}]}",
		"{\"s\":\"\\u00e9\\\\\"}   \r\n\t{}",
		"[1,2]\n\"str\"\n{}",
		"{" + strings.Repeat("\"k\":[", 50),
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		sc := wire.NewRecordScanner(bytes.NewReader(in), limit)
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatalf("more results (%d) than input bytes (%d)", i, len(in))
			}
			rec, err := sc.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var e *tracking.Error
			if errors.As(err, &e) {
				if e.Code != tracking.CodeInvalidJSON && e.Code != tracking.CodeTooLarge {
					t.Fatalf("unexpected code %s", e.Code)
				}
				continue
			}
			if err != nil {
				t.Fatalf("reader error from a bytes.Reader: %v", err)
			}
			// Depth is counted over {} and [] alike: a mismatched closer ends a
			// record that the decoder then rejects as malformed.
			if len(rec) == 0 || len(rec) > limit || rec[0] != '{' || (rec[len(rec)-1] != '}' && rec[len(rec)-1] != ']') {
				t.Fatalf("bad record %q", rec)
			}
			if bytes.IndexByte(rec, '\n') >= 0 {
				t.Fatalf("record with a raw newline %q", rec)
			}
		}
	})
}
