package wire

// This file keeps the original, encoding/json based DecodePosition as an
// executable specification. position_decode_test.go compares the hand-rolled
// decoder against it on a table of tricky inputs and under fuzzing; do not
// "improve" it, its whole point is to stay what DecodePosition used to be.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

type refWireRecord struct {
	ID        json.RawMessage `json:"id"`
	WorkerID  json.RawMessage `json:"workerId"`
	Team      json.RawMessage `json:"team"`
	Location  json.RawMessage `json:"location"`
	TimeStamp json.RawMessage `json:"timeStamp"`
	Accuracy  json.RawMessage `json:"accuracy"`
	Speed     json.RawMessage `json:"speed"`
	Heading   json.RawMessage `json:"heading"`
	Battery   json.RawMessage `json:"battery"` // added with the field, decoded as the other optional numbers
}

type refWireLocation struct {
	Latitude  json.RawMessage `json:"latitude"`
	Longitude json.RawMessage `json:"longitude"`
}

// decodeReference is DecodePosition as it was before the single-pass decoder.
func decodeReference(data []byte, now time.Time) (tracking.Position, error) {
	var p tracking.Position
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return p, tracking.Errorf(tracking.CodeInvalidJSON, "a record must be a JSON object")
	}
	var w refWireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return p, tracking.Errorf(tracking.CodeInvalidJSON, "a record must be a JSON object")
		}
		return p, &tracking.Error{Code: tracking.CodeInvalidJSON, Message: "malformed JSON: " + refJSONErrorText(err), Err: err}
	}
	var err error
	if p.ID, err = refOptionalString("id", w.ID); err != nil {
		return p, err
	}
	if p.WorkerID, err = refRequiredString("workerId", w.WorkerID); err != nil {
		return p, err
	}
	if p.Team, err = refRequiredString("team", w.Team); err != nil {
		return p, err
	}
	if refIsNull(w.Location) {
		return p, fieldError("location", "is required")
	}
	var loc refWireLocation
	if err := json.Unmarshal(w.Location, &loc); err != nil {
		return p, fieldError("location", "must be an object with latitude and longitude")
	}
	if p.Location.Latitude, err = refRequiredNumber("location.latitude", loc.Latitude); err != nil {
		return p, err
	}
	if p.Location.Longitude, err = refRequiredNumber("location.longitude", loc.Longitude); err != nil {
		return p, err
	}
	if p.TimeStamp, err = refParseTimeStamp(w.TimeStamp, now); err != nil {
		return p, err
	}
	if p.Accuracy, err = refOptionalNumber("accuracy", w.Accuracy); err != nil {
		return p, err
	}
	if p.Speed, err = refOptionalNumber("speed", w.Speed); err != nil {
		return p, err
	}
	if p.Heading, err = refOptionalNumber("heading", w.Heading); err != nil {
		return p, err
	}
	if p.Battery, err = refOptionalNumber("battery", w.Battery); err != nil {
		return p, err
	}
	if p.ID == "" {
		p.ID = tracking.NewID()
	}
	return p, p.Validate(now)
}

func refIsNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func refRequiredString(field string, raw json.RawMessage) (string, error) {
	if refIsNull(raw) {
		return "", fieldError(field, "is required")
	}
	return refOptionalString(field, raw)
}

func refOptionalString(field string, raw json.RawMessage) (string, error) {
	if refIsNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fieldError(field, "must be a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldError(field, "must be a string")
	}
	return s, nil
}

func refRequiredNumber(field string, raw json.RawMessage) (float64, error) {
	if refIsNull(raw) {
		return 0, fieldError(field, "is required")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, fieldError(field, "must be a number")
		}
		text = strings.TrimSpace(text)
	} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, fieldError(field, "must be a number or a numeric string")
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || !finite(f) {
		return 0, fieldError(field, "must be a finite number, got %q", clip(text, 32))
	}
	return f, nil
}

func refOptionalNumber(field string, raw json.RawMessage) (*float64, error) {
	if refIsNull(raw) {
		return nil, nil
	}
	f, err := refRequiredNumber(field, raw)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func refParseTimeStamp(raw json.RawMessage, now time.Time) (time.Time, error) {
	if refIsNull(raw) {
		return now.UTC(), nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return time.Time{}, fieldError("timeStamp", "must be a string (RFC 3339 or dd/MM/yyyy HH:mm:ss)")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(LegacyTimeLayout, s)
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, fieldError("timeStamp", "%q is not a valid date%s", clip(s, 40), pe.Message)
		}
		return time.Time{}, fieldError("timeStamp", "%q is neither RFC 3339 nor dd/MM/yyyy HH:mm:ss", clip(s, 40))
	}
	return t, nil
}

func refJSONErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// refAppendJSON is tracking.Position.AppendJSON as it was before its fast paths.
func refAppendJSON(p *tracking.Position, dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendQuote(dst, p.ID)
	dst = append(dst, `,"workerId":"`...)
	dst = append(dst, p.WorkerID...)
	dst = append(dst, `","team":"`...)
	dst = append(dst, p.Team...)
	dst = append(dst, `","location":{"latitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Latitude, 'f', -1, 64)
	dst = append(dst, `,"longitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Longitude, 'f', -1, 64)
	dst = append(dst, `},"timeStamp":"`...)
	dst = p.TimeStamp.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	dst = append(dst, '"')
	dst = appendOptional(dst, `,"accuracy":`, p.Accuracy)
	dst = appendOptional(dst, `,"speed":`, p.Speed)
	dst = appendOptional(dst, `,"heading":`, p.Heading)
	dst = appendOptional(dst, `,"battery":`, p.Battery)
	return append(dst, '}')
}
