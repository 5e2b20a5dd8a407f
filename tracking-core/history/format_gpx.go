package history

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"strconv"
	"time"
)

// GPXCreator is the creator attribute of the GPX documents written.
const GPXCreator = "teamtrack tracking-core"

// writeGPX writes a GPX 1.1 document: a <trk> per worker (named after it,
// with the team as its type), one <trkseg> of <trkpt lat lon><time>. GPX 1.1
// has no element for accuracy, speed, heading or battery level (only
// extensions, which each reader would have to know): they are left out.
func writeGPX(w *bufio.Writer, recs []Record) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<gpx version="1.1" creator="`+GPXCreator+`" xmlns="http://www.topografix.com/GPX/1/1" `+
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" `+
		`xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">`+"\n"...)
	for _, g := range byWorker(recs) {
		buf = append(buf, "<trk><name>"...)
		buf = appendEscaped(buf, g[0].Position.WorkerID)
		buf = append(buf, "</name><type>"...)
		buf = appendEscaped(buf, g[0].Position.Team)
		buf = append(buf, "</type><trkseg>\n"...)
		for i := range g {
			p := &g[i].Position
			buf = append(buf, `<trkpt lat="`...)
			buf = strconv.AppendFloat(buf, p.Location.Latitude, 'f', -1, 64)
			buf = append(buf, `" lon="`...)
			buf = strconv.AppendFloat(buf, p.Location.Longitude, 'f', -1, 64)
			buf = append(buf, `"><time>`...)
			buf = p.TimeStamp.UTC().AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, "</time></trkpt>\n"...)
			if len(buf) > 32<<10 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, "</trkseg></trk>\n"...)
	}
	buf = append(buf, "</gpx>\n"...)
	_, err := w.Write(buf)
	return err
}

func appendEscaped(buf []byte, s string) []byte {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // bytes.Buffer never fails
	return append(buf, b.Bytes()...)
}
