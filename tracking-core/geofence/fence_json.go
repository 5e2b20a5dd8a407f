package geofence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

// ParseFence decodes and validates the JSON form of a fence (see the
// package doc). Every error is a *tracking.Error: invalid_json when data is
// not a JSON object, invalid_field with the JSON path of the offending field
// otherwise. Unknown members are rejected, so that a misspelt "dwel" is not
// silently ignored; GeoJSON's optional "bbox" member of the geometry is
// accepted and ignored.
func ParseFence(data []byte) (Fence, error) {
	var f Fence
	obj, err := object(data, "")
	if err != nil {
		return f, err
	}
	if err := unknownMember(obj, "", "id", "team", "name", "geometry", "dwell", "schedule", "updatedAt"); err != nil {
		return f, err
	}
	// Members in a fixed order, so that the error names the same field
	// whatever the order of the input.
	if v, ok := obj["id"]; ok {
		err = str(v, "id", &f.ID)
	}
	if v, ok := obj["team"]; ok && err == nil {
		err = str(v, "team", &f.Team)
	}
	if v, ok := obj["name"]; ok && err == nil {
		err = str(v, "name", &f.Name)
	}
	if v, ok := obj["geometry"]; ok && err == nil {
		f.Geometry, err = parseGeometry(v, "geometry")
	}
	if v, ok := obj["dwell"]; ok && err == nil {
		f.Dwell, err = parseDwell(v)
	}
	if v, ok := obj["schedule"]; ok && err == nil && !isNull(v) {
		f.Schedule, err = parseSchedule(v, "schedule")
	}
	if v, ok := obj["updatedAt"]; ok && err == nil {
		var s string
		if err = str(v, "updatedAt", &s); err == nil && s != "" {
			if f.UpdatedAt, err = time.Parse(time.RFC3339Nano, s); err != nil {
				err = fieldError("updatedAt", "must be an RFC 3339 time")
			}
		}
	}
	if err != nil {
		return Fence{}, err
	}
	if _, ok := obj["geometry"]; !ok {
		return Fence{}, fieldError("geometry", "is required")
	}
	if err := f.Validate(); err != nil {
		return Fence{}, err
	}
	return f, nil
}

// UnmarshalJSON is ParseFence, for json.Decoder users.
func (f *Fence) UnmarshalJSON(data []byte) error {
	v, err := ParseFence(data)
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// MarshalJSON returns the canonical JSON form of f (AppendJSON).
func (f Fence) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(nil), nil
}

// AppendJSON appends the canonical JSON form of f to dst: members in a fixed
// order, optional ones (dwell, schedule, updatedAt) only when set.
func (f *Fence) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, f.ID)
	dst = append(dst, `,"team":`...)
	dst = appendString(dst, f.Team)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, f.Name)
	dst = append(dst, `,"geometry":`...)
	dst = f.Geometry.AppendJSON(dst)
	if f.Dwell > 0 {
		dst = append(dst, `,"dwell":"`...)
		dst = append(dst, formatDuration(f.Dwell)...)
		dst = append(dst, '"')
	}
	if s := f.Schedule; s != nil {
		dst = append(dst, `,"schedule":{"days":[`...)
		for i, d := range s.Days {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, dayNames[d%7]...)
			dst = append(dst, '"')
		}
		dst = append(dst, `],"from":"`...)
		dst = s.From.appendText(dst)
		dst = append(dst, `","to":"`...)
		dst = s.To.appendText(dst)
		dst = append(dst, `","tz":`...)
		tz := s.TZ
		if tz == "" {
			tz = "UTC"
		}
		dst = appendString(dst, tz)
		dst = append(dst, '}')
	}
	if !f.UpdatedAt.IsZero() {
		dst = append(dst, `,"updatedAt":"`...)
		dst = f.UpdatedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// AppendJSON appends the GeoJSON form of g (a circle as a Point with
// "radius").
func (g *Geometry) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, string(g.Type))
	dst = append(dst, `,"coordinates":`...)
	switch g.Type {
	case Circle:
		dst = appendPosition(dst, g.Center)
		dst = append(dst, `,"radius":`...)
		dst = strconv.AppendFloat(dst, g.Radius, 'f', -1, 64)
	case Polygon:
		if len(g.Polygons) == 1 {
			dst = appendRings(dst, g.Polygons[0])
		} else {
			dst = append(dst, "[]"...)
		}
	default:
		dst = append(dst, '[')
		for i, p := range g.Polygons {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendRings(dst, p)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// formatDuration is time.Duration.String without its trailing zero units
// ("5m", not "5m0s"; "1h30m").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func appendRings(dst []byte, rings Rings) []byte {
	dst = append(dst, '[')
	for i, r := range rings {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		for j, p := range r {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendPosition(dst, p)
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

func appendPosition(dst []byte, p Position) []byte {
	dst = append(dst, '[')
	dst = strconv.AppendFloat(dst, p.Lon, 'f', -1, 64)
	dst = append(dst, ',')
	dst = strconv.AppendFloat(dst, p.Lat, 'f', -1, 64)
	return append(dst, ']')
}

func parseGeometry(data json.RawMessage, field string) (Geometry, error) {
	var g Geometry
	obj, err := object(data, field)
	if err != nil {
		return g, err
	}
	var typ string
	if v, ok := obj["type"]; !ok {
		return g, fieldError(field+".type", "is required")
	} else if err := str(v, field+".type", &typ); err != nil {
		return g, err
	}
	g.Type = GeometryType(typ)
	coords, ok := obj["coordinates"]
	if !ok {
		return g, fieldError(field+".coordinates", "is required")
	}
	cf := field + ".coordinates"
	switch g.Type {
	case Circle:
		rv, ok := obj["radius"]
		if !ok {
			return g, fieldError(field+".radius", "is required: a fence that is a GeoJSON Point is a circle of this many metres")
		}
		if err := json.Unmarshal(rv, &g.Radius); err != nil {
			return g, fieldError(field+".radius", "must be a number of metres")
		}
		if g.Center, err = parsePosition(coords, cf); err != nil {
			return g, err
		}
	case Polygon:
		rings, err := parseRings(coords, cf)
		if err != nil {
			return g, err
		}
		g.Polygons = []Rings{rings}
	case MultiPolygon:
		polys, err := array(coords, cf)
		if err != nil {
			return g, err
		}
		if len(polys) > maxPolygons {
			return g, fieldError(cf, "at most %d polygons, got %d", maxPolygons, len(polys))
		}
		for i, p := range polys {
			rings, err := parseRings(p, fmt.Sprintf("%s[%d]", cf, i))
			if err != nil {
				return g, err
			}
			g.Polygons = append(g.Polygons, rings)
		}
	default:
		return g, (&g).validate(field) // names the type
	}
	if err := unknownMember(obj, field, "type", "coordinates", "radius", "bbox"); err != nil {
		return g, err
	}
	if _, ok := obj["radius"]; ok && g.Type != Circle {
		return g, fieldError(field+".radius", `only a "Point" (a circle) has a radius`)
	}
	return g, nil
}

func parseRings(data json.RawMessage, field string) (Rings, error) {
	raw, err := array(data, field)
	if err != nil {
		return nil, err
	}
	if len(raw) > maxRings {
		return nil, fieldError(field, "at most %d rings, got %d", maxRings, len(raw))
	}
	rings := make(Rings, 0, len(raw))
	total := 0
	for i, rr := range raw {
		rf := fmt.Sprintf("%s[%d]", field, i)
		pos, err := array(rr, rf)
		if err != nil {
			return nil, err
		}
		if total += len(pos); total > MaxPositions {
			return nil, fieldError(field, "at most %d positions in all, got more", MaxPositions)
		}
		r := make(Ring, len(pos))
		for j, p := range pos {
			if r[j], err = parsePosition(p, fmt.Sprintf("%s[%d]", rf, j)); err != nil {
				return nil, err
			}
		}
		rings = append(rings, r)
	}
	return rings, nil
}

func parsePosition(data json.RawMessage, field string) (Position, error) {
	var v []float64
	if err := json.Unmarshal(data, &v); err != nil || len(v) < 2 || len(v) > 3 {
		return Position{}, fieldError(field, "must be a position [longitude, latitude] of numbers")
	}
	p := Position{Lon: v[0], Lat: v[1]}
	return p, validPosition(field, p)
}

func parseDwell(v json.RawMessage) (time.Duration, error) {
	if isNull(v) {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, fieldError("dwell", `must be a duration string such as "5m" or "90s"`)
	}
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fieldError("dwell", `must be a duration such as "5m" or "90s", got %q`, clip(s, 40))
	}
	return d, nil
}

func parseSchedule(data json.RawMessage, field string) (*Schedule, error) {
	obj, err := object(data, field)
	if err != nil {
		return nil, err
	}
	if err := unknownMember(obj, field, "days", "from", "to", "tz"); err != nil {
		return nil, err
	}
	s := &Schedule{}
	var from, to string
	if v, ok := obj["days"]; ok && !isNull(v) {
		days, err := array(v, field+".days")
		if err != nil {
			return nil, err
		}
		for i, dv := range days {
			var name string
			d, ok := time.Weekday(0), false
			if json.Unmarshal(dv, &name) == nil {
				d, ok = parseDay(name)
			}
			if !ok {
				return nil, fieldError(fmt.Sprintf("%s.days[%d]", field, i), `must be one of "mon", "tue", "wed", "thu", "fri", "sat", "sun"`)
			}
			s.Days = append(s.Days, d)
		}
	}
	for _, m := range []struct {
		name string
		dst  *string
	}{{"from", &from}, {"to", &to}, {"tz", &s.TZ}} {
		if v, ok := obj[m.name]; ok {
			if err := str(v, field+"."+m.name, m.dst); err != nil {
				return nil, err
			}
		}
	}
	if (from == "") != (to == "") {
		return nil, fieldError(field+".from", "from and to go together (neither means all day)")
	}
	if from != "" {
		var ok bool
		if s.From, ok = parseTimeOfDay(from); !ok || s.From == 1440 {
			return nil, fieldError(field+".from", `must be "HH:MM" from 00:00 to 23:59, got %q`, clip(from, 16))
		}
		if s.To, ok = parseTimeOfDay(to); !ok {
			return nil, fieldError(field+".to", `must be "HH:MM" from 00:00 to 24:00, got %q`, clip(to, 16))
		}
	}
	return s, nil
}

// unknownMember returns an error naming the first (in byte order) member of
// obj that is not allowed.
func unknownMember(obj map[string]json.RawMessage, field string, allowed ...string) error {
	bad := ""
	for k := range obj {
		if !slices.Contains(allowed, k) && (bad == "" || k < bad) {
			bad = k
		}
	}
	if bad == "" {
		return nil
	}
	path := bad
	if field != "" {
		path = field + "." + bad
	}
	return fieldError(clip(path, 80), "unknown member (allowed: %s)", strings.Join(allowed, ", "))
}

// object decodes a JSON object into its members; field names it for errors
// ("" for the top level).
func object(data []byte, field string) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if field == "" && (len(data) == 0 || data[0] != '{' || !json.Valid(data)) {
		return nil, tracking.Errorf(tracking.CodeInvalidJSON, "a fence must be a JSON object")
	}
	var obj map[string]json.RawMessage
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &obj) != nil {
		return nil, fieldError(field, "must be a JSON object")
	}
	return obj, nil
}

func array(data json.RawMessage, field string) ([]json.RawMessage, error) {
	var a []json.RawMessage
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' || json.Unmarshal(data, &a) != nil {
		return nil, fieldError(field, "must be an array")
	}
	return a, nil
}

func str(data json.RawMessage, field string, dst *string) error {
	if err := json.Unmarshal(data, dst); err != nil || isNull(data) {
		return fieldError(field, "must be a string")
	}
	return nil
}

func isNull(data json.RawMessage) bool {
	return string(bytes.TrimSpace(data)) == "null"
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, the rest verbatim.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
