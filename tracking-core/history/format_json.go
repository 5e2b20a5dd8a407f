package history

import (
	"bufio"
	"strconv"

	"github.com/teamtrack/tracking-core/wire"
)

// writeJSON writes {"positions":[...],"next":"..."}: each record's canonical
// JSON (wire.AppendPosition), next "" on the last page.
func writeJSON(w *bufio.Writer, page Page) error {
	buf := make([]byte, 0, 512)
	buf = append(buf, `{"positions":[`...)
	for i := range page.Records {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = wire.AppendPosition(buf, &page.Records[i].Position)
		if len(buf) > 32<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, `],"next":`...)
	buf = strconv.AppendQuote(buf, page.Next)
	buf = append(buf, "}\n"...)
	_, err := w.Write(buf)
	return err
}
