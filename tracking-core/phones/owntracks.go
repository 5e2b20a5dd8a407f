package phones

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// OwnTracksSource is the FixID source of fixes that came from OwnTracks.
const OwnTracksSource = "owntracks"

// Message is one payload an OwnTracks app POSTed in HTTP mode.
type Message struct {
	// Type is the payload's _type: "location", "transition", "waypoint",
	// "lwt", "card", "cmd", "status", "encrypted", ...; "" for an empty
	// body (the app POSTs one when a friend is deleted).
	Type string
	// Fix is the position of a location payload, nil for any other type.
	// Its Device and ID are empty: the device is the request's credentials
	// (HTTP basic auth user and device, or a bearer token), and the caller
	// derives the id with FixID(OwnTracksSource, userDevice, Fix.Time).
	Fix *Fix
	// TrackerID is tid, the short label the apps show for a device (two
	// characters by default); required by the apps in HTTP mode.
	TrackerID string
	// Topic is topic, the publish topic the app would use in MQTT mode
	// ("owntracks/user/device"), sent in HTTP mode by iOS and Android >= 2.4.
	Topic string
	// Trigger is t, why the app reported ("p" ping, "u" user, "t" timer, ...).
	Trigger string
	// CreatedAt is created_at, when the app built the message (tst is when
	// the fix was taken); zero when absent.
	CreatedAt time.Time
}

// ParseOwnTracks parses the body of an OwnTracks HTTP-mode POST: one JSON
// object whose _type says what it is. A location gives a Fix: lat and lon
// (degrees) and tst (Unix seconds) are required; acc (m), alt (m), vel
// (km/h, converted to m/s), cog (degrees) and batt (percent) are optional.
// Any other _type is accepted with Fix nil, as is an empty body. Numbers sent
// as strings, as apps before 2016 did, are accepted. Errors are
// *tracking.Error naming the field ("_type", "lat", "tst", ...).
func ParseOwnTracks(body []byte, now time.Time) (Message, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Message{}, nil
	}
	if body[0] != '{' {
		return Message{}, invalidJSON("the body must be a JSON object")
	}
	var p struct {
		Type      json.RawMessage `json:"_type"`
		Lat       json.RawMessage `json:"lat"`
		Lon       json.RawMessage `json:"lon"`
		Tst       json.RawMessage `json:"tst"`
		Acc       json.RawMessage `json:"acc"`
		Alt       json.RawMessage `json:"alt"`
		Vel       json.RawMessage `json:"vel"`
		Cog       json.RawMessage `json:"cog"`
		Batt      json.RawMessage `json:"batt"`
		Tid       json.RawMessage `json:"tid"`
		Topic     json.RawMessage `json:"topic"`
		T         json.RawMessage `json:"t"`
		CreatedAt json.RawMessage `json:"created_at"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Message{}, invalidJSON("malformed JSON: %v", err)
	}
	var m Message
	var err error
	var ok bool
	if m.Type, ok, err = jsonString("_type", p.Type); err != nil {
		return Message{}, err
	} else if !ok || m.Type == "" {
		return Message{}, fieldError("_type", "is required")
	}
	// The descriptive fields are kept when they are strings, whatever the
	// type; they are not worth a refusal.
	m.TrackerID, _, _ = jsonString("tid", p.Tid)
	m.Topic, _, _ = jsonString("topic", p.Topic)
	m.Trigger, _, _ = jsonString("t", p.T)
	if c, ok, err := jsonNumber("created_at", p.CreatedAt); err == nil && ok && c > 0 && c < 1e11 {
		m.CreatedAt = unixSeconds(c)
	}
	if m.Type != "location" {
		return m, nil
	}

	var f Fix
	if f.Latitude, err = requiredNumber("lat", p.Lat); err != nil {
		return Message{}, err
	}
	if err = checkLatitude("lat", f.Latitude); err != nil {
		return Message{}, err
	}
	if f.Longitude, err = requiredNumber("lon", p.Lon); err != nil {
		return Message{}, err
	}
	if err = checkLongitude("lon", f.Longitude); err != nil {
		return Message{}, err
	}
	tst, err := requiredNumber("tst", p.Tst)
	if err != nil {
		return Message{}, err
	}
	if tst <= 0 || tst >= 1e11 { // 1e11 s is the year 5138: milliseconds, or garbage
		return Message{}, fieldError("tst", "must be a Unix time in seconds, got %s", strconv.FormatFloat(tst, 'f', -1, 64))
	}
	f.Time = unixSeconds(tst)
	if err = checkTime("tst", f.Time, now); err != nil {
		return Message{}, err
	}

	var x float64
	if x, ok, err = jsonNumber("vel", p.Vel); err != nil {
		return Message{}, err
	} else if ok {
		f.Speed = nonNegative(KmhToMS(x))
	}
	if x, ok, err = jsonNumber("cog", p.Cog); err != nil {
		return Message{}, err
	} else if ok {
		f.Heading = heading(x)
	}
	if x, ok, err = jsonNumber("acc", p.Acc); err != nil {
		return Message{}, err
	} else if ok {
		f.Accuracy = nonNegative(x)
	}
	if x, ok, err = jsonNumber("alt", p.Alt); err != nil {
		return Message{}, err
	} else if ok {
		f.Altitude = ptr(x)
	}
	if x, ok, err = jsonNumber("batt", p.Batt); err != nil {
		return Message{}, err
	} else if ok {
		f.Battery = battery(x)
	}
	m.Fix = &f
	return m, nil
}

func unixSeconds(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

// OwnTracksCard is a teammate's last position as the answer to an OwnTracks
// POST carries it, so that the app shows the teammate.
type OwnTracksCard struct {
	// TrackerID (tid) is required: the apps file a location received over
	// HTTP under a pseudo topic made of it, so teammates shown to one phone
	// need distinct tids.
	TrackerID string
	// Topic, when set, is written as topic ("owntracks/user/device").
	Topic string
	// Name, when set, makes AppendOwnTracksResponse write a card object
	// (_type card) before the location: the name the app shows instead of
	// the tid. Face is its optional picture, a base64-encoded image.
	Name, Face string

	Latitude, Longitude float64
	Time                time.Time // written as tst, Unix seconds; required by the apps
	Speed               *float64  // m/s, written as vel in km/h
	Heading             *float64  // degrees, written as cog
	Accuracy            *float64  // m, written as acc
	Altitude            *float64  // m, written as alt
	Battery             *float64  // percent, written as batt
}

// AppendOwnTracksLocation appends c as an OwnTracks location object:
// {"_type":"location","lat":..,"lon":..,"tst":..,"tid":".."} followed by
// acc, vel, cog, alt and batt when known (integers, as the apps send them)
// and topic when set.
func AppendOwnTracksLocation(dst []byte, c OwnTracksCard) []byte {
	dst = append(dst, `{"_type":"location","lat":`...)
	dst = appendFloat(dst, c.Latitude)
	dst = append(dst, `,"lon":`...)
	dst = appendFloat(dst, c.Longitude)
	dst = append(dst, `,"tst":`...)
	dst = strconv.AppendInt(dst, c.Time.Unix(), 10)
	dst = append(dst, `,"tid":`...)
	dst = appendJSONString(dst, c.TrackerID)
	dst = appendInt(dst, `,"acc":`, c.Accuracy)
	if c.Speed != nil {
		dst = appendInt(dst, `,"vel":`, ptr(MSToKmh(*c.Speed)))
	}
	dst = appendInt(dst, `,"cog":`, c.Heading)
	dst = appendInt(dst, `,"alt":`, c.Altitude)
	dst = appendInt(dst, `,"batt":`, c.Battery)
	if c.Topic != "" {
		dst = append(dst, `,"topic":`...)
		dst = appendJSONString(dst, c.Topic)
	}
	return append(dst, '}')
}

// AppendOwnTracksCard appends c's card object:
// {"_type":"card","tid":"..","name":".."[,"face":".."]}.
func AppendOwnTracksCard(dst []byte, c OwnTracksCard) []byte {
	dst = append(dst, `{"_type":"card","tid":`...)
	dst = appendJSONString(dst, c.TrackerID)
	dst = append(dst, `,"name":`...)
	dst = appendJSONString(dst, c.Name)
	if c.Face != "" {
		dst = append(dst, `,"face":`...)
		dst = appendJSONString(dst, c.Face)
	}
	return append(dst, '}')
}

// AppendOwnTracksResponse appends the JSON array that answers an OwnTracks
// POST: for each card, its card object when it has a Name, then its
// location. Cards without a TrackerID are left out (the apps cannot place
// them). No cards give [], the answer the apps expect when there is nothing
// to tell.
func AppendOwnTracksResponse(dst []byte, cards []OwnTracksCard) []byte {
	dst = append(dst, '[')
	n := 0
	for _, c := range cards {
		if c.TrackerID == "" {
			continue
		}
		if c.Name != "" {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = AppendOwnTracksCard(dst, c)
			n++
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = AppendOwnTracksLocation(dst, c)
		n++
	}
	return append(dst, ']')
}

func appendFloat(dst []byte, f float64) []byte {
	if !finite(f) {
		f = 0
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendInt appends key and *v rounded, if v is known and finite.
func appendInt(dst []byte, key string, v *float64) []byte {
	if v == nil || !finite(*v) || math.Abs(*v) > 1e15 {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendInt(dst, int64(math.Round(*v)), 10)
}
