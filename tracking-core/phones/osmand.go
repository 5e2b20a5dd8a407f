package phones

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// OsmAndSource is the FixID source of fixes that came by the OsmAnd protocol.
const OsmAndSource = "osmand"

// ParseOsmAndQuery parses the query (or form) form of the OsmAnd protocol:
// one fix per request. The caller passes r.URL.Query(), or the parsed body of
// a form-encoded POST when the query is empty (as Traccar's server does).
//
// Required: id (or deviceid), and lat and lon (or location=lat,lon).
// timestamp is Unix seconds, Unix milliseconds, ISO 8601 or
// "yyyy-MM-dd HH:mm:ss" (UTC); without it the fix is taken at now. Optional:
// speed (knots), bearing or heading (degrees), altitude (m), accuracy (m),
// batt (percent). Any other parameter is ignored. The error is an
// *tracking.Error naming the parameter.
func ParseOsmAndQuery(v url.Values, now time.Time) (Fix, error) {
	var f Fix
	f.Device = first(v, "id", "deviceid")
	if strings.TrimSpace(f.Device) == "" {
		return Fix{}, fieldError("id", "is required (the device identifier; deviceid is also accepted)")
	}

	var err error
	if lat, lon := v.Get("lat"), v.Get("lon"); lat != "" || lon != "" || !v.Has("location") {
		if f.Latitude, err = requiredParam("lat", lat); err != nil {
			return Fix{}, err
		}
		if f.Longitude, err = requiredParam("lon", lon); err != nil {
			return Fix{}, err
		}
		if err = checkLatitude("lat", f.Latitude); err != nil {
			return Fix{}, err
		}
		if err = checkLongitude("lon", f.Longitude); err != nil {
			return Fix{}, err
		}
	} else {
		loc := v.Get("location")
		latS, lonS, ok := strings.Cut(loc, ",")
		if !ok {
			return Fix{}, fieldError("location", "must be \"latitude,longitude\", got %q", clip(loc, 40))
		}
		if f.Latitude, err = parseNumber("location", latS); err != nil {
			return Fix{}, err
		}
		if f.Longitude, err = parseNumber("location", lonS); err != nil {
			return Fix{}, err
		}
		if err = checkLatitude("location", f.Latitude); err != nil {
			return Fix{}, err
		}
		if err = checkLongitude("location", f.Longitude); err != nil {
			return Fix{}, err
		}
	}

	if ts := strings.TrimSpace(v.Get("timestamp")); ts != "" {
		if f.Time, err = parseOsmAndTime("timestamp", ts); err != nil {
			return Fix{}, err
		}
		if err = checkTime("timestamp", f.Time, now); err != nil {
			return Fix{}, err
		}
		f.ID = FixID(OsmAndSource, f.Device, f.Time)
	} else {
		f.Time = now.UTC()
	}

	var x float64
	var ok bool
	if x, ok, err = optionalParam(v, "speed"); err != nil {
		return Fix{}, err
	} else if ok {
		f.Speed = nonNegative(KnotsToMS(x))
	}
	name := "bearing"
	if !v.Has(name) || v.Get(name) == "" {
		name = "heading"
	}
	if x, ok, err = optionalParam(v, name); err != nil {
		return Fix{}, err
	} else if ok {
		f.Heading = heading(x)
	}
	if x, ok, err = optionalParam(v, "altitude"); err != nil {
		return Fix{}, err
	} else if ok {
		f.Altitude = ptr(x)
	}
	if x, ok, err = optionalParam(v, "accuracy"); err != nil {
		return Fix{}, err
	} else if ok {
		f.Accuracy = nonNegative(x)
	}
	if x, ok, err = optionalParam(v, "batt"); err != nil {
		return Fix{}, err
	} else if ok {
		f.Battery = battery(x)
	}
	return f, nil
}

// first returns the first non-empty value of the first of names present.
func first(v url.Values, names ...string) string {
	for _, n := range names {
		if s := v.Get(n); s != "" {
			return s
		}
	}
	return ""
}

func requiredParam(name, s string) (float64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fieldError(name, "is required")
	}
	return parseNumber(name, s)
}

// optionalParam: an absent or empty parameter is absent (a URL template
// whose placeholder had no value leaves it empty).
func optionalParam(v url.Values, name string) (float64, bool, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return 0, false, nil
	}
	f, err := parseNumber(name, s)
	return f, err == nil, err
}

// unixMillisFrom: an integer timestamp at or above this is in milliseconds,
// below it in seconds (2^31-1, Traccar's server's rule: seconds reach it in
// 2038, milliseconds passed it in January 1970).
const unixMillisFrom = 1<<31 - 1

// parseOsmAndTime parses an OsmAnd timestamp: Unix seconds or milliseconds
// (an integer, or seconds with a fraction), ISO 8601 (when it holds a 'T'),
// else "yyyy-MM-dd HH:mm:ss" in UTC.
func parseOsmAndTime(field, s string) (time.Time, error) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1e15 { // beyond year 30000 in ms: no phone's clock
			return time.Time{}, fieldError(field, "is not a plausible Unix time: %q", clip(s, 40))
		}
		if n < unixMillisFrom {
			return time.Unix(n, 0).UTC(), nil
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if whole, frac, ok := strings.Cut(s, "."); ok && isDigits(whole) && isDigits(frac) && len(whole) <= 10 {
		n, _ := strconv.ParseInt(whole, 10, 64)
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		return time.Unix(n, ns).UTC(), nil
	}
	if strings.Contains(s, "T") {
		return parseISO(field, s)
	}
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		if t, err = time.Parse("2006-01-02 15:04:05.999999999", s); err != nil {
			return time.Time{}, fieldError(field, "must be Unix seconds or milliseconds, ISO 8601 or yyyy-MM-dd HH:mm:ss, got %q", clip(s, 40))
		}
	}
	return t.UTC(), nil
}

// isoLayouts are the ISO 8601 forms accepted: with a zone as Z, ±hh:mm or
// ±hhmm, or without one (UTC).
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
}

// parseISO parses an ISO 8601 date-time. A '+' of a zone offset that reached
// us as a space (an unencoded '+' in a query string) is put back.
func parseISO(field, s string) (time.Time, error) {
	if i := strings.LastIndexByte(s, ' '); i > strings.IndexByte(s, 'T') && i > 0 {
		s = s[:i] + "+" + s[i+1:]
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldError(field, "must be an ISO 8601 date-time, got %q", clip(s, 40))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseOsmAndJSON parses the JSON body of the OsmAnd protocol, as Traccar
// Client 9 and later send it: {"location": {...}, "device_id": "..."}, the
// location in the form of its background location SDK (timestamp ISO 8601;
// coords.latitude, longitude, accuracy m, speed m/s, heading degrees,
// altitude m; battery.level 0 to 1). location may also be an array of such
// objects (the SDK's batch upload): the fixes are returned in the order
// sent, and one bad location fails the whole body. A location without
// timestamp is taken at now. Errors are *tracking.Error naming the field by
// its path: "device_id", "location.coords.latitude",
// "location[2].timestamp".
func ParseOsmAndJSON(body []byte, now time.Time) ([]Fix, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, invalidJSON("the body must be a JSON object")
	}
	var root struct {
		Location json.RawMessage `json:"location"`
		DeviceID json.RawMessage `json:"device_id"`
	}
	if err := json.Unmarshal(body, &root); err != nil {
		return nil, invalidJSON("malformed JSON: %v", err)
	}
	device, err := jsonID("device_id", root.DeviceID)
	if err != nil {
		return nil, err
	}

	loc := bytes.TrimSpace(root.Location)
	switch {
	case isNull(loc):
		return nil, fieldError("location", "is required")
	case loc[0] == '{':
		f, err := osmAndLocation("location", loc, device, now)
		if err != nil {
			return nil, err
		}
		return []Fix{f}, nil
	case loc[0] == '[':
		var batch []json.RawMessage
		if err := json.Unmarshal(loc, &batch); err != nil {
			return nil, fieldError("location", "must be an object or an array of objects")
		}
		if len(batch) == 0 {
			return nil, fieldError("location", "is an empty array")
		}
		fixes := make([]Fix, 0, len(batch))
		for i, raw := range batch {
			f, err := osmAndLocation("location["+strconv.Itoa(i)+"]", raw, device, now)
			if err != nil {
				return nil, err
			}
			fixes = append(fixes, f)
		}
		return fixes, nil
	}
	return nil, fieldError("location", "must be an object or an array of objects")
}

// osmAndLocation parses one location object of the JSON form; path names it.
func osmAndLocation(path string, raw json.RawMessage, device string, now time.Time) (Fix, error) {
	var loc struct {
		Timestamp json.RawMessage `json:"timestamp"`
		UUID      json.RawMessage `json:"uuid"`
		Coords    json.RawMessage `json:"coords"`
		Battery   json.RawMessage `json:"battery"`
	}
	if err := object(path, raw, &loc); err != nil {
		return Fix{}, err
	}
	f := Fix{Device: device}

	var coords struct {
		Latitude  json.RawMessage `json:"latitude"`
		Longitude json.RawMessage `json:"longitude"`
		Accuracy  json.RawMessage `json:"accuracy"`
		Speed     json.RawMessage `json:"speed"`
		Heading   json.RawMessage `json:"heading"`
		Altitude  json.RawMessage `json:"altitude"`
	}
	if isNull(loc.Coords) {
		return Fix{}, fieldError(path+".coords", "is required")
	}
	if err := object(path+".coords", loc.Coords, &coords); err != nil {
		return Fix{}, err
	}
	var err error
	if f.Latitude, err = requiredNumber(path+".coords.latitude", coords.Latitude); err != nil {
		return Fix{}, err
	}
	if err = checkLatitude(path+".coords.latitude", f.Latitude); err != nil {
		return Fix{}, err
	}
	if f.Longitude, err = requiredNumber(path+".coords.longitude", coords.Longitude); err != nil {
		return Fix{}, err
	}
	if err = checkLongitude(path+".coords.longitude", f.Longitude); err != nil {
		return Fix{}, err
	}

	var x float64
	var ok bool
	if x, ok, err = jsonNumber(path+".coords.speed", coords.Speed); err != nil {
		return Fix{}, err
	} else if ok {
		f.Speed = nonNegative(x) // already m/s
	}
	if x, ok, err = jsonNumber(path+".coords.heading", coords.Heading); err != nil {
		return Fix{}, err
	} else if ok {
		f.Heading = heading(x)
	}
	if x, ok, err = jsonNumber(path+".coords.accuracy", coords.Accuracy); err != nil {
		return Fix{}, err
	} else if ok {
		f.Accuracy = nonNegative(x)
	}
	if x, ok, err = jsonNumber(path+".coords.altitude", coords.Altitude); err != nil {
		return Fix{}, err
	} else if ok {
		f.Altitude = ptr(x)
	}

	if !isNull(loc.Battery) {
		var b struct {
			Level json.RawMessage `json:"level"`
		}
		if err := object(path+".battery", loc.Battery, &b); err != nil {
			return Fix{}, err
		}
		if x, ok, err = jsonNumber(path+".battery.level", b.Level); err != nil {
			return Fix{}, err
		} else if ok && x >= 0 && x <= 1 { // -1: unknown
			f.Battery = ptr(x * 100)
		}
	}

	ts, ok, err := jsonString(path+".timestamp", loc.Timestamp)
	switch {
	case err != nil:
		return Fix{}, err
	case ok && strings.TrimSpace(ts) != "":
		if f.Time, err = parseISO(path+".timestamp", strings.TrimSpace(ts)); err != nil {
			return Fix{}, err
		}
		if err = checkTime(path+".timestamp", f.Time, now); err != nil {
			return Fix{}, err
		}
		f.ID = FixID(OsmAndSource, device, f.Time)
	default:
		f.Time = now.UTC()
	}
	// The SDK's record uuid, when the app's template sends it, identifies
	// the record across retries better than the time does.
	if u, ok, err := jsonString(path+".uuid", loc.UUID); err == nil && ok && u != "" && len(u) <= 100 {
		if id := OsmAndSource + ":" + u; tracking.ValidateID("id", id, 128) == nil {
			f.ID = id
		}
	}
	return f, nil
}

// JSON helpers: the fields are decoded one by one, so that an error names
// the field by its path.

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// object decodes raw, which must be a JSON object, into dst.
func object(path string, raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fieldError(path, "must be an object")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fieldError(path, "must be an object")
	}
	return nil
}

// jsonNumber returns the number raw holds, false when it is absent or null.
// A number sent as a string (as older apps did) is accepted.
func jsonNumber(path string, raw json.RawMessage) (float64, bool, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return 0, false, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, fieldError(path, "must be a number")
		}
		if strings.TrimSpace(s) == "" {
			return 0, false, nil
		}
		f, err := parseNumber(path, s)
		return f, err == nil, err
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, false, fieldError(path, "must be a number, got %s", clip(string(raw), 40))
	}
	return f, true, nil
}

func requiredNumber(path string, raw json.RawMessage) (float64, error) {
	f, ok, err := jsonNumber(path, raw)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fieldError(path, "is required")
	}
	return f, nil
}

// jsonString returns the string raw holds, false when it is absent or null.
func jsonString(path string, raw json.RawMessage) (string, bool, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", false, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false, fieldError(path, "must be a string")
	}
	return s, true, nil
}

// jsonID returns a required identifier, a string or an integer.
func jsonID(path string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", fieldError(path, "is required (the device identifier)")
	}
	if raw[0] == '"' {
		s, _, err := jsonString(path, raw)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(s) == "" {
			return "", fieldError(path, "is required (the device identifier)")
		}
		return s, nil
	}
	if isDigits(string(raw)) {
		return string(raw), nil
	}
	return "", fieldError(path, "must be a string")
}
