package history

import (
	"bufio"
	"io"
	"slices"
	"strings"
)

// Format is an output format of a history query.
type Format string

const (
	FormatJSON    Format = "json"    // {"positions":[canonical records],"next":"cursor"}
	FormatGeoJSON Format = "geojson" // a LineString Feature per worker
	FormatGPX     Format = "gpx"     // GPX 1.1, a <trk> per worker
)

// ContentType is the media type of f.
func (f Format) ContentType() string {
	switch f {
	case FormatGeoJSON:
		return "application/geo+json"
	case FormatGPX:
		return "application/gpx+xml"
	default:
		return "application/json"
	}
}

// Extension is the file name extension of f, without the dot.
func (f Format) Extension() string {
	if f == FormatGeoJSON {
		return "geojson"
	}
	return string(f)
}

// ParseFormat returns the Format named s ("" is JSON), or false.
func ParseFormat(s string) (Format, bool) {
	switch f := Format(strings.ToLower(s)); f {
	case "":
		return FormatJSON, true
	case FormatJSON, FormatGeoJSON, FormatGPX:
		return f, true
	}
	return "", false
}

// Encode writes page to w in format f. oneWorker says that the query named
// one worker: GeoJSON is then a single Feature (else a FeatureCollection).
// It buffers its output and writes it in chunks of a few tens of KiB.
func Encode(w io.Writer, f Format, page Page, oneWorker bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatGeoJSON:
		err = writeGeoJSON(bw, page.Records, oneWorker)
	case FormatGPX:
		err = writeGPX(bw, page.Records)
	default:
		err = writeJSON(bw, page)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// byWorker returns the records grouped by worker (workers in byte order),
// each worker's in the order of recs (fix-time order, for a page).
func byWorker(recs []Record) [][]Record {
	if len(recs) == 0 {
		return nil
	}
	one := true
	for i := range recs {
		if recs[i].Position.WorkerID != recs[0].Position.WorkerID {
			one = false
			break
		}
	}
	if one {
		return [][]Record{recs}
	}
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b Record) int { return strings.Compare(a.Position.WorkerID, b.Position.WorkerID) })
	var out [][]Record
	start := 0
	for i := 1; i <= len(sorted); i++ {
		if i == len(sorted) || sorted[i].Position.WorkerID != sorted[start].Position.WorkerID {
			out = append(out, sorted[start:i])
			start = i
		}
	}
	return out
}
