package history

import (
	"bufio"
	"strconv"
	"time"
)

// writeGeoJSON writes one Feature per worker: a LineString of [lon, lat]
// (a Point for a single record, a null geometry for none), properties
// workerId, team and times (RFC 3339, nanoseconds, UTC) matching the
// coordinates one for one, and, when any of the worker's records has a
// battery level, battery: the levels (percent), also one for one, null where a
// record has none. oneWorker writes the Feature alone (a null geometry when
// there is no record), else a FeatureCollection.
func writeGeoJSON(w *bufio.Writer, recs []Record, oneWorker bool) error {
	groups := byWorker(recs)
	buf := make([]byte, 0, 64<<10)
	if oneWorker && len(groups) <= 1 {
		var g []Record
		if len(groups) == 1 {
			g = groups[0]
		}
		return appendFeature(w, buf, g)
	}
	buf = append(buf, `{"type":"FeatureCollection","features":[`...)
	for i, g := range groups {
		if i > 0 {
			buf = append(buf, ',')
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		if err := appendFeature(w, buf, g); err != nil {
			return err
		}
	}
	buf = append(buf, "]}\n"...)
	_, err := w.Write(buf)
	return err
}

// appendFeature writes the Feature of one worker's records through buf.
func appendFeature(w *bufio.Writer, buf []byte, g []Record) error {
	flush := func() error {
		if len(buf) < 32<<10 {
			return nil
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	buf = append(buf, `{"type":"Feature","geometry":`...)
	switch len(g) {
	case 0:
		buf = append(buf, "null"...)
	case 1:
		buf = append(buf, `{"type":"Point","coordinates":`...)
		buf = appendLonLat(buf, &g[0])
		buf = append(buf, '}')
	default:
		buf = append(buf, `{"type":"LineString","coordinates":[`...)
		for i := range g {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendLonLat(buf, &g[i])
			if err := flush(); err != nil {
				return err
			}
		}
		buf = append(buf, "]}"...)
	}
	buf = append(buf, `,"properties":{`...)
	if len(g) > 0 {
		buf = append(buf, `"workerId":`...)
		buf = strconv.AppendQuote(buf, g[0].Position.WorkerID)
		buf = append(buf, `,"team":`...)
		buf = strconv.AppendQuote(buf, g[0].Position.Team)
		buf = append(buf, ',')
	}
	buf = append(buf, `"times":[`...)
	for i := range g {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = g[i].Position.TimeStamp.UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, '"')
		if err := flush(); err != nil {
			return err
		}
	}
	buf = append(buf, ']')
	if hasBattery(g) {
		buf = append(buf, `,"battery":[`...)
		for i := range g {
			if i > 0 {
				buf = append(buf, ',')
			}
			if b := g[i].Position.Battery; b != nil {
				buf = strconv.AppendFloat(buf, *b, 'f', -1, 64)
			} else {
				buf = append(buf, "null"...)
			}
			if err := flush(); err != nil {
				return err
			}
		}
		buf = append(buf, ']')
	}
	buf = append(buf, "}}"...)
	_, err := w.Write(buf)
	return err
}

func hasBattery(g []Record) bool {
	for i := range g {
		if g[i].Position.Battery != nil {
			return true
		}
	}
	return false
}

func appendLonLat(buf []byte, r *Record) []byte {
	buf = append(buf, '[')
	buf = strconv.AppendFloat(buf, r.Position.Location.Longitude, 'f', -1, 64)
	buf = append(buf, ',')
	buf = strconv.AppendFloat(buf, r.Position.Location.Latitude, 'f', -1, 64)
	return append(buf, ']')
}
