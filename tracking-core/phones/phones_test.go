package phones_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/phones"
)

var now = time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)

func TestUnitConversions(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"1 kn", phones.KnotsToMS(1), 1852.0 / 3600},
		{"10 kn", phones.KnotsToMS(10), 5.144444444444445},
		{"0 kn", phones.KnotsToMS(0), 0},
		{"36 km/h", phones.KmhToMS(36), 10},
		{"3.6 km/h", phones.KmhToMS(3.6), 1},
		{"10 m/s", phones.MSToKmh(10), 36},
		{"round trip", phones.MSToKmh(phones.KmhToMS(54)), 54},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFixID(t *testing.T) {
	ts := time.Date(2025, 9, 1, 10, 0, 0, 250e6, time.UTC)
	if got := phones.FixID("osmand", "48241179", ts); got != "osmand:48241179:1756720800250" {
		t.Errorf("got %q", got)
	}
	// A device id the record's id cannot hold is hashed, stably.
	odd := phones.FixID("osmand", "Jane's phone/äöü", ts)
	if odd != phones.FixID("osmand", "Jane's phone/äöü", ts) || !strings.HasPrefix(odd, "osmand:sha256-") {
		t.Errorf("got %q", odd)
	}
	long := phones.FixID("osmand", strings.Repeat("x", 200), ts)
	for _, id := range []string{odd, long} {
		if err := tracking.ValidateID("id", id, 128); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	if odd == phones.FixID("osmand", "Jane's phone/äöx", ts) {
		t.Error("two devices, one id")
	}
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var e *tracking.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *tracking.Error", err)
	}
	return e.Field
}

func TestOsmAndQueryTimestamps(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1756720800", "2025-09-01T10:00:00Z"},
		{"1756720800000", "2025-09-01T10:00:00Z"},
		{"1756720800123", "2025-09-01T10:00:00.123Z"},
		{"1756720800.5", "2025-09-01T10:00:00.5Z"},
		{"2147483647", "1970-01-25T20:31:23.647Z"}, // 2^31-1 and up are milliseconds, as in Traccar
		{"2025-09-01T10:00:00Z", "2025-09-01T10:00:00Z"},
		{"2025-09-01T10:00:00.587Z", "2025-09-01T10:00:00.587Z"},
		{"2025-09-01T12:00:00+02:00", "2025-09-01T10:00:00Z"},
		{"2025-09-01T12:00:00 02:00", "2025-09-01T10:00:00Z"}, // '+' decoded as a space
		{"2025-09-01T07:00:00-03:00", "2025-09-01T10:00:00Z"},
		{"2025-09-01T12:00:00+0200", "2025-09-01T10:00:00Z"},
		{"2025-09-01T10:00:00", "2025-09-01T10:00:00Z"},
		{"2025-09-01 10:00:00", "2025-09-01T10:00:00Z"},
	} {
		f, err := phones.ParseOsmAndQuery(url.Values{"id": {"a"}, "lat": {"1"}, "lon": {"2"}, "timestamp": {c.in}}, now)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := f.Time.Format(time.RFC3339Nano); got != c.want {
			t.Errorf("%q: got %s, want %s", c.in, got, c.want)
		}
		if f.Time.Location() != time.UTC {
			t.Errorf("%q: time not in UTC", c.in)
		}
	}
	for _, bad := range []string{"-5", "1e9", "0x10", "12:00", "2025-13-01T00:00:00Z", "99999999999999999999", "now", "2025-09-01"} {
		_, err := phones.ParseOsmAndQuery(url.Values{"id": {"a"}, "lat": {"1"}, "lon": {"2"}, "timestamp": {bad}}, now)
		if err == nil || fieldOf(t, err) != "timestamp" {
			t.Errorf("%q: got %v, want an error naming timestamp", bad, err)
		}
	}
}

func TestOsmAndQueryFields(t *testing.T) {
	base := func(kv ...string) url.Values {
		v := url.Values{"id": {"a"}, "lat": {"1"}, "lon": {"2"}, "timestamp": {"1756720800"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	type want struct {
		field string // error naming this field, or "" for none
		check func(phones.Fix) bool
	}
	for name, c := range map[string]struct {
		v url.Values
		want
	}{
		"deviceid alias":         {url.Values{"deviceid": {"d-1"}, "lat": {"1"}, "lon": {"2"}}, want{"", func(f phones.Fix) bool { return f.Device == "d-1" }}},
		"id wins over deviceid":  {url.Values{"id": {"x"}, "deviceid": {"y"}, "lat": {"1"}, "lon": {"2"}}, want{"", func(f phones.Fix) bool { return f.Device == "x" }}},
		"blank id":               {url.Values{"id": {"  "}, "lat": {"1"}, "lon": {"2"}}, want{"id", nil}},
		"heading alias":          {base("heading", "90"), want{"", func(f phones.Fix) bool { return *f.Heading == 90 }}},
		"bearing wins":           {base("bearing", "10", "heading", "20"), want{"", func(f phones.Fix) bool { return *f.Heading == 10 }}},
		"heading 360 kept":       {base("bearing", "360"), want{"", func(f phones.Fix) bool { return *f.Heading == 360 }}},
		"speed knots":            {base("speed", "1"), want{"", func(f phones.Fix) bool { return math.Abs(*f.Speed-0.5144444) < 1e-6 }}},
		"empty optional absent":  {base("speed", "", "batt", "", "accuracy", ""), want{"", func(f phones.Fix) bool { return f.Speed == nil && f.Battery == nil && f.Accuracy == nil }}},
		"battery over 100":       {base("batt", "150"), want{"", func(f phones.Fix) bool { return f.Battery == nil }}},
		"negative altitude kept": {base("altitude", "-12"), want{"", func(f phones.Fix) bool { return *f.Altitude == -12 }}},
		"lat edge 90":            {base("lat", "90", "lon", "-180"), want{"", func(f phones.Fix) bool { return f.Latitude == 90 && f.Longitude == -180 }}},
		"lon 180.0001":           {base("lon", "180.0001"), want{"lon", nil}},
		"lat Inf":                {base("lat", "Inf"), want{"lat", nil}},
		"lat 1e400":              {base("lat", "1e400"), want{"lat", nil}},
		"lat hex":                {base("lat", "0x1p-2"), want{"lat", nil}},
		"lat empty":              {base("lat", ""), want{"lat", nil}},
		"accuracy garbage":       {base("accuracy", "good"), want{"accuracy", nil}},
		"batt garbage":           {base("batt", "full"), want{"batt", nil}},
		"altitude garbage":       {base("altitude", "high"), want{"altitude", nil}},
		"bearing garbage":        {base("bearing", "north"), want{"bearing", nil}},
		"location bad lat":       {url.Values{"id": {"a"}, "location": {"x,2"}}, want{"location", nil}},
		"location out of range":  {url.Values{"id": {"a"}, "location": {"95,2"}}, want{"location", nil}},
		"lat wins over location": {url.Values{"id": {"a"}, "lat": {"3"}, "lon": {"4"}, "location": {"5,6"}}, want{"", func(f phones.Fix) bool { return f.Latitude == 3 }}},
		"future 24h is fine":     {base("timestamp", "1756814400"), want{"", nil}},
		"future 24h+1s":          {base("timestamp", "1756814401"), want{"timestamp", nil}},
		"old backlog is fine":    {base("timestamp", "1725148800"), want{"", nil}},
		"other params ignored":   {base("hdop", "x", "valid", "false", "charge", "true", "driverUniqueId", "7"), want{"", nil}},
	} {
		f, err := phones.ParseOsmAndQuery(c.v, now)
		if c.field != "" {
			if err == nil || fieldOf(t, err) != c.field {
				t.Errorf("%s: got %v, want an error naming %s", name, err, c.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.check != nil && !c.check(f) {
			t.Errorf("%s: got %+v", name, f)
		}
	}
}

func TestOsmAndQueryWithoutTimestampIsNow(t *testing.T) {
	f, err := phones.ParseOsmAndQuery(url.Values{"id": {"a"}, "lat": {"1"}, "lon": {"2"}}, now.In(time.FixedZone("x", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Time.Equal(now) || f.Time.Location() != time.UTC || f.ID != "" {
		t.Errorf("got time %v, id %q: want now in UTC and no id", f.Time, f.ID)
	}
}

func TestOsmAndJSONEdges(t *testing.T) {
	loc := func(inner string) string {
		return `{"device_id":"d","location":{"timestamp":"2025-09-01T10:00:00Z","coords":{"latitude":1,"longitude":2` + inner + `}}}`
	}
	for name, c := range map[string]struct {
		body, field string
		check       func([]phones.Fix) bool
	}{
		"minimal":             {loc(""), "", func(f []phones.Fix) bool { return len(f) == 1 && f[0].Speed == nil && f[0].Battery == nil }},
		"null optionals":      {loc(`,"speed":null,"heading":null,"accuracy":null,"altitude":null`), "", func(f []phones.Fix) bool { return f[0].Speed == nil && f[0].Altitude == nil }},
		"speed is m/s":        {loc(`,"speed":10`), "", func(f []phones.Fix) bool { return *f[0].Speed == 10 }},
		"speed string":        {loc(`,"speed":"fast"`), "location.coords.speed", nil},
		"heading object":      {loc(`,"heading":{}`), "location.coords.heading", nil},
		"latitude null":       {`{"device_id":"d","location":{"coords":{"latitude":null,"longitude":2}}}`, "location.coords.latitude", nil},
		"latitude -90.5":      {`{"device_id":"d","location":{"coords":{"latitude":-90.5,"longitude":2}}}`, "location.coords.latitude", nil},
		"no timestamp is now": {`{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2}}}`, "", func(f []phones.Fix) bool { return f[0].Time.Equal(now) && f[0].ID == "" }},
		"battery level 1":     {`{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":1}}}`, "", func(f []phones.Fix) bool { return *f[0].Battery == 100 }},
		"battery level 0":     {`{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":0}}}`, "", func(f []phones.Fix) bool { return *f[0].Battery == 0 }},
		"battery level 42":    {`{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":42}}}`, "", func(f []phones.Fix) bool { return f[0].Battery == nil }},
		"battery not object":  {`{"device_id":"d","location":{"coords":{"latitude":1,"longitude":2},"battery":0.5}}`, "location.battery", nil},
		"coords not object":   {`{"device_id":"d","location":{"coords":[1,2]}}`, "location.coords", nil},
		"empty batch":         {`{"device_id":"d","location":[]}`, "location", nil},
		"batch of non-object": {`{"device_id":"d","location":[1]}`, "location[0]", nil},
		"missing location":    {`{"device_id":"d"}`, "location", nil},
		"device_id object":    {`{"device_id":{},"location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", nil},
		"device_id blank":     {`{"device_id":" ","location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", nil},
		"device_id float":     {`{"device_id":1.5,"location":{"coords":{"latitude":1,"longitude":2}}}`, "device_id", nil},
		"timestamp future":    {`{"device_id":"d","location":{"timestamp":"2025-09-03T00:00:00Z","coords":{"latitude":1,"longitude":2}}}`, "location.timestamp", nil},
		"uuid not id-safe":    {`{"device_id":"d","location":{"uuid":"a b","timestamp":"2025-09-01T10:00:00Z","coords":{"latitude":1,"longitude":2}}}`, "", func(f []phones.Fix) bool { return f[0].ID == "osmand:d:1756720800000" }},
		"top-level array":     {`[{"device_id":"d"}]`, "", nil}, // invalid_json, no field
		"empty body":          {``, "", nil},
	} {
		fixes, err := phones.ParseOsmAndJSON([]byte(c.body), now)
		switch {
		case c.field != "":
			if err == nil || fieldOf(t, err) != c.field {
				t.Errorf("%s: got %v, want an error naming %s", name, err, c.field)
			}
		case c.check == nil:
			if tracking.ErrorCode(err) != tracking.CodeInvalidJSON {
				t.Errorf("%s: got %v, want invalid_json", name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case !c.check(fixes):
			t.Errorf("%s: got %+v", name, fixes)
		}
	}
}

func TestOwnTracksEdges(t *testing.T) {
	for name, c := range map[string]struct {
		body, field string
		check       func(phones.Message) bool
	}{
		"whitespace body":                   {" \n", "", func(m phones.Message) bool { return m.Type == "" && m.Fix == nil }},
		"encrypted ignored":                 {`{"_type":"encrypted","data":"abc="}`, "", func(m phones.Message) bool { return m.Type == "encrypted" && m.Fix == nil }},
		"cmd ignored":                       {`{"_type":"cmd","action":"reportLocation"}`, "", func(m phones.Message) bool { return m.Fix == nil }},
		"card ignored":                      {`{"_type":"card","name":"Kim","face":"iVBOR"}`, "", func(m phones.Message) bool { return m.Type == "card" }},
		"unknown type":                      {`{"_type":"steps","steps":100}`, "", func(m phones.Message) bool { return m.Type == "steps" }},
		"transition bad lat is not checked": {`{"_type":"transition","lat":"x"}`, "", func(m phones.Message) bool { return m.Fix == nil }},
		"vel km/h":                          {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"vel":36}`, "", func(m phones.Message) bool { return *m.Fix.Speed == 10 }},
		"vel negative": {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"vel":-1,"cog":-1,"acc":-1}`, "", func(m phones.Message) bool {
			return m.Fix.Speed == nil && m.Fix.Heading == nil && m.Fix.Accuracy == nil
		}},
		"tst fractional":   {`{"_type":"location","lat":1,"lon":2,"tst":1756720800.5}`, "", func(m phones.Message) bool { return m.Fix.Time.Equal(time.Unix(1756720800, 5e8)) }},
		"tid not a string": {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"tid":7}`, "", func(m phones.Message) bool { return m.TrackerID == "" && m.Fix != nil }},
		"created_at junk":  {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"created_at":"soon"}`, "", func(m phones.Message) bool { return m.CreatedAt.IsZero() }},
		"_type number":     {`{"_type":5}`, "_type", nil},
		"_type empty":      {`{"_type":""}`, "_type", nil},
		"lat out of range": {`{"_type":"location","lat":-91,"lon":2,"tst":1756720800}`, "lat", nil},
		"lon missing":      {`{"_type":"location","lat":1,"tst":1756720800}`, "lon", nil},
		"tst zero":         {`{"_type":"location","lat":1,"lon":2,"tst":0}`, "tst", nil},
		"tst string junk":  {`{"_type":"location","lat":1,"lon":2,"tst":"today"}`, "tst", nil},
		"tst future":       {`{"_type":"location","lat":1,"lon":2,"tst":1756900000}`, "tst", nil},
		"vel garbage":      {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"vel":"fast"}`, "vel", nil},
		"batt garbage":     {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"batt":[]}`, "batt", nil},
		"cog garbage":      {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"cog":{}}`, "cog", nil},
		"acc garbage":      {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"acc":true}`, "acc", nil},
		"alt garbage":      {`{"_type":"location","lat":1,"lon":2,"tst":1756720800,"alt":"up"}`, "alt", nil},
		"string body":      {`"location"`, "", nil},
	} {
		m, err := phones.ParseOwnTracks([]byte(c.body), now)
		switch {
		case c.field != "":
			if err == nil || fieldOf(t, err) != c.field {
				t.Errorf("%s: got %v, want an error naming %s", name, err, c.field)
			}
		case c.check == nil:
			if tracking.ErrorCode(err) != tracking.CodeInvalidJSON {
				t.Errorf("%s: got %v, want invalid_json", name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case !c.check(m):
			t.Errorf("%s: got %+v (fix %+v)", name, m, m.Fix)
		}
	}
}

func f64(f float64) *float64 { return &f }

func TestAppendOwnTracksLocation(t *testing.T) {
	c := phones.OwnTracksCard{
		TrackerID: "K2", Topic: "owntracks/kim/iphone",
		Latitude: 51.5007, Longitude: -0.1246,
		Time:  time.Date(2025, 9, 1, 10, 0, 29, 900e6, time.UTC),
		Speed: f64(15), Heading: f64(270.6), Accuracy: f64(4.5), Altitude: f64(42), Battery: f64(97),
	}
	got := string(phones.AppendOwnTracksLocation([]byte("x"), c))
	want := `x{"_type":"location","lat":51.5007,"lon":-0.1246,"tst":1756720829,"tid":"K2","acc":5,"vel":54,"cog":271,"alt":42,"batt":97,"topic":"owntracks/kim/iphone"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bare := string(phones.AppendOwnTracksLocation(nil, phones.OwnTracksCard{TrackerID: "a\"b", Latitude: 1, Longitude: 2, Time: time.Unix(1756720800, 0)}))
	if bare != `{"_type":"location","lat":1,"lon":2,"tst":1756720800,"tid":"a\"b"}` {
		t.Errorf("got %s", bare)
	}
}

// A card written is a location the parser reads back as the same fix (to the
// integers the apps use).
func TestOwnTracksCardRoundTrip(t *testing.T) {
	c := phones.OwnTracksCard{
		TrackerID: "jj", Latitude: -33.8688, Longitude: 151.2093, Time: time.Unix(1756720800, 0),
		Speed: f64(10), Heading: f64(90), Accuracy: f64(12), Battery: f64(50),
	}
	m, err := phones.ParseOwnTracks(phones.AppendOwnTracksLocation(nil, c), now)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Fix
	if m.TrackerID != "jj" || f.Latitude != c.Latitude || f.Longitude != c.Longitude || !f.Time.Equal(c.Time) ||
		*f.Speed != 10 || *f.Heading != 90 || *f.Accuracy != 12 || *f.Battery != 50 || f.Altitude != nil {
		t.Errorf("got %+v, %+v", m, *f)
	}
}

func TestAppendOwnTracksResponse(t *testing.T) {
	if got := string(phones.AppendOwnTracksResponse(nil, nil)); got != "[]" {
		t.Errorf("no teammates: got %s, want []", got)
	}
	ts := time.Unix(1756720800, 0)
	cards := []phones.OwnTracksCard{
		{TrackerID: "AB", Name: "Ana Bell", Face: "iVBORw0KGgo=", Latitude: 1, Longitude: 2, Time: ts},
		{TrackerID: "", Name: "No tid", Latitude: 3, Longitude: 4, Time: ts}, // left out
		{TrackerID: "CD", Latitude: 5, Longitude: 6, Time: ts},
		{TrackerID: "EF", Name: "Ed \u2028 <Fox>\x01", Latitude: 7, Longitude: 8, Time: ts},
	}
	got := phones.AppendOwnTracksResponse(nil, cards)
	var objs []map[string]any
	if err := json.Unmarshal(got, &objs); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	var types []string
	for _, o := range objs {
		types = append(types, o["_type"].(string)+":"+o["tid"].(string))
		if o["_type"] == "location" && o["tst"] == nil {
			t.Error("a location without tst: the apps do not show it")
		}
	}
	if strings.Join(types, ",") != "card:AB,location:AB,location:CD,card:EF,location:EF" {
		t.Errorf("got %s", types)
	}
	if objs[0]["name"] != "Ana Bell" || objs[0]["face"] != "iVBORw0KGgo=" || objs[3]["name"] != "Ed \u2028 <Fox>\x01" {
		t.Errorf("cards: %v, %v", objs[0], objs[3])
	}
	if _, ok := objs[3]["face"]; ok {
		t.Error("face written though empty")
	}
}

func TestAppendOwnTracksInvalidUTF8(t *testing.T) {
	b := phones.AppendOwnTracksLocation(nil, phones.OwnTracksCard{TrackerID: "\xff\xfe", Topic: "a\x00b", Time: time.Unix(0, 0)})
	if !json.Valid(b) {
		t.Errorf("not JSON: %q", b)
	}
}
