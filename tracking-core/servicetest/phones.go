package servicetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire"
)

// phoneCall sends a phone's request and returns the answer's status and body.
func phoneCall(t *testing.T, method, u, contentType string, body []byte, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// canonical is the record a phone's fix must become.
func canonical(id, team, worker string, lat, lon float64, at time.Time, acc, speed, heading, batt *float64, late bool) []byte {
	p := tracking.Position{ID: id, WorkerID: worker, Team: team, Location: tracking.Location{Latitude: lat, Longitude: lon},
		TimeStamp: at.UTC(), Accuracy: acc, Speed: speed, Heading: heading, Battery: batt, Late: late}
	return wire.AppendPosition(nil, &p)
}

func num(f float64) *float64 { return &f }

// Phones on replica A, a manager on B: a device registered through A's
// /devices reports by the OsmAnd query form (GET and a form POST), by
// Traccar Client's JSON body and by OwnTracks (a location, and a type that
// is ignored); each location is the expected canonical record on B's
// stream. Bad requests get a 400 naming the field; an unregistered device
// and a wrong secret are refused. 100 buffered fixes sent oldest first,
// as Traccar Client flushes its queue, are in the history in order, and the
// live position stays the newest fix.
func (s *scenarios) phones(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	devs, err := sqlitedevices.Open(ctx, sqlitedevices.Config{Path: filepath.Join(dir, "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = devs.Close() })
	hist, err := sqlitehistory.Open(ctx, sqlitehistory.Config{Path: filepath.Join(dir, "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hist.Close() })
	w := history.NewWriter(hist, history.WriterConfig{Linger: 5 * time.Millisecond})
	t.Cleanup(func() { _ = w.Close() })
	a, b := s.pair(t, httpapi.Config{Devices: devs, History: w})

	const team = "team_phones"
	register := func(id, worker, secret string) {
		t.Helper()
		code, body := callJSON(t, "POST", a.URL+"/devices",
			fmt.Sprintf(`{"id":%q,"team":%q,"workerId":%q,"secret":%q}`, id, team, worker, secret))
		if code != 201 {
			t.Fatalf("register %s: %d %s", id, code, body)
		}
	}
	const osmSecret, ownSecret = "osmand-secret-0001", "owntracks-secret-01"
	register("48241179", "w-osm", osmSecret)
	register("kim/phone", "w-own", ownSecret)
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)

	base := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	var want [][]byte
	ok := func(what string, code int, body []byte) {
		t.Helper()
		if code != 200 {
			t.Fatalf("%s: %d %s, want 200", what, code, body)
		}
	}

	// The query form by GET: speed in knots, the secret as key= in the URL.
	code, body := phoneCall(t, "GET", fmt.Sprintf("%s/osmand?id=48241179&lat=48.1372&lon=11.5756&timestamp=%d&speed=10&bearing=90&accuracy=5&batt=76&key=%s",
		a.URL, at(1).Unix(), osmSecret), "", nil, nil)
	ok("OsmAnd GET", code, body)
	if len(body) != 0 {
		t.Fatalf("OsmAnd answer %q, want an empty body", body)
	}
	want = append(want, canonical(fmt.Sprintf("osmand:48241179:%d", at(1).UnixMilli()), team, "w-osm", 48.1372, 11.5756, at(1),
		num(5), num(10*1852.0/3600.0), num(90), num(76), false))

	// The query form as a form body, the secret as the basic auth password.
	hdr := http.Header{}
	hdr.Set("Authorization", "Basic "+basic("48241179", osmSecret))
	code, body = phoneCall(t, "POST", a.URL+"/osmand/", "application/x-www-form-urlencoded",
		[]byte(fmt.Sprintf("id=48241179&lat=48.1380&lon=11.5760&timestamp=%d", at(2).Unix())), hdr)
	ok("OsmAnd form POST", code, body)
	want = append(want, canonical(fmt.Sprintf("osmand:48241179:%d", at(2).UnixMilli()), team, "w-osm", 48.1380, 11.5760, at(2),
		nil, nil, nil, nil, false))

	// Traccar Client's JSON body: speed in m/s, battery a fraction.
	traccar := fmt.Sprintf(`{"location":{"timestamp":%q,"coords":{"latitude":48.139,"longitude":11.577,"accuracy":4.5,"speed":1.5,"heading":158.5,"altitude":519},
		"is_moving":true,"odometer":1204,"event":"motionchange","battery":{"level":0.88,"is_charging":false},"activity":{"type":"walking"},"extras":{}},"device_id":"48241179"}`,
		at(3).Format(time.RFC3339Nano))
	code, body = phoneCall(t, "POST", a.URL+"/osmand?key="+osmSecret, "application/json", []byte(traccar), nil)
	ok("Traccar Client JSON", code, body)
	want = append(want, canonical(fmt.Sprintf("osmand:48241179:%d", at(3).UnixMilli()), team, "w-osm", 48.139, 11.577, at(3),
		num(4.5), num(1.5), num(158.5), num(88), false))

	// OwnTracks: a location (vel in km/h), then a transition, ignored. The
	// answer shows the teammates A knows (a broker may tell it a moment
	// after the stream): wait for w-osm there first.
	for deadline := time.Now().Add(s.f.Timeout); ; {
		recs, err := LastPositions(a.URL+"/tracking", team)
		if err == nil && len(recs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A never knew w-osm's position: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the replica's view of the broker
	}
	own := http.Header{}
	own.Set("Authorization", "Basic "+basic("kim", ownSecret))
	own.Set("X-Limit-U", "kim")
	own.Set("X-Limit-D", "phone")
	code, body = phoneCall(t, "POST", a.URL+"/owntracks", "application/json",
		[]byte(fmt.Sprintf(`{"_type":"location","acc":12,"alt":35,"batt":81,"lat":48.85833,"lon":2.29513,"t":"u","tid":"kp","tst":%d,"vel":18}`, at(4).Unix())), own)
	ok("OwnTracks location", code, body)
	var cards []map[string]any
	if err := json.Unmarshal(body, &cards); err != nil {
		t.Fatalf("OwnTracks answer %s: %v", body, err)
	}
	if !hasTeammate(cards, "w-osm") {
		t.Fatalf("OwnTracks answer %s: want w-osm's last location as a teammate", body)
	}
	want = append(want, canonical(fmt.Sprintf("owntracks:kim-phone:%d", at(4).UnixMilli()), team, "w-own", 48.85833, 2.29513, at(4),
		num(12), num(5), nil, num(81), false))
	code, body = phoneCall(t, "POST", a.URL+"/owntracks/", "application/json",
		[]byte(fmt.Sprintf(`{"_type":"transition","event":"enter","desc":"Depot","tid":"kp","tst":%d,"wtst":1,"acc":10,"lat":48.8,"lon":2.3}`, at(5).Unix())), own)
	ok("OwnTracks transition", code, body)

	if !mgr.WaitFor(s.f.Timeout, func(recs []Record) bool { return len(recs) >= len(want) }) {
		t.Fatalf("manager on B got %d records, want %d", len(mgr.Records()), len(want))
	}
	got := mgr.Records()
	if len(got) != len(want) {
		t.Fatalf("manager on B got %d records, want %d (the transition is no position)", len(got), len(want))
	}
	for i, r := range got {
		if !bytes.Equal(r.JSON, want[i]) {
			t.Fatalf("record %d on B:\n%s\nwant\n%s", i, r.JSON, want[i])
		}
	}

	// Refusals, each naming what is wrong.
	for _, c := range []struct {
		name, method, path, ctype, body string
		header                          http.Header
		status                          int
		code, mentions                  string
	}{
		{"lat not a number", "GET", "/osmand?id=48241179&lat=abc&lon=2&key=" + osmSecret, "", "", nil, 400, "invalid_field", "lat"},
		{"no id", "GET", "/osmand?lat=1&lon=2", "", "", nil, 400, "invalid_field", "id"},
		{"JSON without coords", "POST", "/osmand?key=" + osmSecret, "application/json", `{"location":{"timestamp":"2026-12-01T10:00:00Z"},"device_id":"48241179"}`, nil, 400, "invalid_field", "location.coords"},
		{"OwnTracks without tst", "POST", "/owntracks", "application/json", `{"_type":"location","lat":1,"lon":2,"tid":"kp"}`, own, 400, "invalid_field", "tst"},
		{"unregistered device", "GET", "/osmand?id=99999&lat=1&lon=2&key=whatever-whatever", "", "", nil, 401, "unauthorized", "device 99999 is not registered"},
		{"wrong secret", "GET", "/osmand?id=48241179&lat=1&lon=2&key=not-the-secret", "", "", nil, 401, "unauthorized", "device 48241179: wrong secret"},
		{"no secret", "GET", "/osmand?id=48241179&lat=1&lon=2", "", "", nil, 401, "unauthorized", "device 48241179: no secret"},
	} {
		code, body := phoneCall(t, c.method, a.URL+c.path, c.ctype, []byte(c.body), c.header)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(body, &e)
		if code != c.status || e.Code != c.code || !strings.Contains(e.Message, c.mentions) {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.name, code, body, c.status, c.code, c.mentions)
		}
	}

	// A phone back online flushes 100 buffered fixes, oldest first, an hour old.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 100 {
		code, body := phoneCall(t, "GET", fmt.Sprintf("%s/osmand?id=48241179&lat=%f&lon=11.5&timestamp=%d&key=%s",
			a.URL, 48.0+float64(i)/1000, old.Add(time.Duration(i)*time.Second).Unix(), osmSecret), "", nil, nil)
		ok(fmt.Sprintf("buffered fix %d", i), code, body)
	}
	q := url.Values{"from": {old.Add(-time.Second).Format(time.RFC3339)}, "to": {old.Add(2 * time.Minute).Format(time.RFC3339)}, "worker": {"w-osm"}}
	deadline := time.Now().Add(s.f.Timeout)
	for {
		code, body := callJSON(t, "GET", a.URL+"/tracking/"+team+"/history?"+q.Encode(), "")
		var page struct{ Positions []Record }
		if code != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("history: %d %s", code, body)
		}
		if len(page.Positions) == 100 {
			for i, r := range page.Positions {
				if want := fmt.Sprintf("osmand:48241179:%d", old.Add(time.Duration(i)*time.Second).UnixMilli()); r.ID != want {
					t.Fatalf("history record %d is %s, want %s: not in order", i, r.ID, want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history has %d of the 100 buffered fixes", len(page.Positions))
		}
		time.Sleep(20 * time.Millisecond) // the history Writer lingers
	}
	last, err := LastPositions(b.URL+"/tracking", team)
	if err != nil {
		t.Fatal(err)
	}
	newest := fmt.Sprintf("osmand:48241179:%d", at(3).UnixMilli())
	found := false
	for _, r := range last {
		if r.WorkerID == "w-osm" {
			found = true
			if r.ID != newest {
				t.Fatalf("w-osm's last position is %s after the backlog, want the newest fix %s", r.ID, newest)
			}
		}
	}
	if !found {
		t.Fatalf("no last position of w-osm on B: %v", last)
	}
}

// basic is the credentials of an HTTP basic Authorization header.
func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// hasTeammate reports whether an OwnTracks answer shows worker.
func hasTeammate(cards []map[string]any, worker string) bool {
	for _, c := range cards {
		if c["_type"] == "location" && c["tid"] == worker {
			return true
		}
	}
	return false
}
