package history_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/wire"
)

func page() history.Page {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	mk := func(id, worker string, i int) history.Record {
		return history.Record{Position: tracking.Position{ID: id, WorkerID: worker, Team: "team_one",
			Location: tracking.Location{Latitude: -23.5 + float64(i), Longitude: -46.6 + float64(i)}, TimeStamp: at.Add(time.Duration(i) * time.Second)}}
	}
	recs := []history.Record{mk("a1", "w-b", 0), mk("a2", "w-a", 1), mk("a3", "w-b", 2), mk("a4", "w-b", 3)}
	b0, b3 := 81.5, 0.0
	recs[0].Position.Battery, recs[3].Position.Battery = &b0, &b3 // w-b's; a3 has none, nor w-a's a2
	return history.Page{Records: recs, Next: "CUR"}
}

func TestEncodeJSON(t *testing.T) {
	var b bytes.Buffer
	p := page()
	if err := history.Encode(&b, history.FormatJSON, p, false); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Positions []json.RawMessage `json:"positions"`
		Next      string            `json:"next"`
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if v.Next != "CUR" || len(v.Positions) != 4 {
		t.Fatalf("got %s", b.String())
	}
	for i, raw := range v.Positions {
		if want := wire.AppendPosition(nil, &p.Records[i].Position); !bytes.Equal(raw, want) {
			t.Fatalf("record %d: %s, want the canonical %s", i, raw, want)
		}
	}
}

type geoFeature struct {
	Type     string `json:"type"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties struct {
		WorkerID string     `json:"workerId"`
		Team     string     `json:"team"`
		Times    []string   `json:"times"`
		Battery  []*float64 `json:"battery"`
	} `json:"properties"`
}

func TestEncodeGeoJSON(t *testing.T) {
	var b bytes.Buffer
	if err := history.Encode(&b, history.FormatGeoJSON, page(), false); err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string       `json:"type"`
		Features []geoFeature `json:"features"`
	}
	if err := json.Unmarshal(b.Bytes(), &fc); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 2 {
		t.Fatalf("got %s", b.String())
	}
	a, bb := fc.Features[0], fc.Features[1]
	if a.Properties.WorkerID != "w-a" || a.Geometry.Type != "Point" || string(a.Geometry.Coordinates) != "[-45.6,-22.5]" {
		t.Fatalf("w-a (one record): %+v %s", a, a.Geometry.Coordinates)
	}
	if bb.Properties.WorkerID != "w-b" || bb.Properties.Team != "team_one" || bb.Geometry.Type != "LineString" ||
		string(bb.Geometry.Coordinates) != "[[-46.6,-23.5],[-44.6,-21.5],[-43.6,-20.5]]" {
		t.Fatalf("w-b: %+v %s", bb, bb.Geometry.Coordinates)
	}
	if want := []string{"2026-05-01T12:00:00.123456789Z", "2026-05-01T12:00:02.123456789Z", "2026-05-01T12:00:03.123456789Z"}; strings.Join(bb.Properties.Times, " ") != strings.Join(want, " ") {
		t.Fatalf("times %v, want %v", bb.Properties.Times, want)
	}
	if bat := bb.Properties.Battery; len(bat) != 3 || bat[0] == nil || *bat[0] != 81.5 || bat[1] != nil || bat[2] == nil || *bat[2] != 0 {
		t.Fatalf("w-b battery %v, want [81.5 null 0]", bat)
	}
	if !strings.Contains(b.String(), `"times":["2026-05-01T12:00:00.123456789Z","2026-05-01T12:00:02.123456789Z","2026-05-01T12:00:03.123456789Z"],"battery":[81.5,null,0]}`) {
		t.Fatalf("w-b properties not written as expected: %s", b.String())
	}
	if a.Properties.Battery != nil || strings.Count(b.String(), `"battery"`) != 1 {
		t.Fatalf("w-a, with no battery level, has a battery property: %s", b.String())
	}

	// One worker asked for: a lone Feature, with a null geometry when empty.
	one := page()
	one.Records = one.Records[2:]
	b.Reset()
	if err := history.Encode(&b, history.FormatGeoJSON, one, true); err != nil {
		t.Fatal(err)
	}
	var f geoFeature
	if err := json.Unmarshal(b.Bytes(), &f); err != nil || f.Type != "Feature" || f.Geometry.Type != "LineString" || len(f.Properties.Times) != 2 {
		t.Fatalf("one worker: %v %s", err, b.String())
	}
	b.Reset()
	if err := history.Encode(&b, history.FormatGeoJSON, history.Page{}, true); err != nil {
		t.Fatal(err)
	}
	f = geoFeature{}
	if err := json.Unmarshal(b.Bytes(), &f); err != nil || f.Type != "Feature" || f.Geometry != nil {
		t.Fatalf("one worker, no records: %v %s", err, b.String())
	}
}

func TestEncodeGPX(t *testing.T) {
	var b bytes.Buffer
	if err := history.Encode(&b, history.FormatGPX, page(), false); err != nil {
		t.Fatal(err)
	}
	var g struct {
		XMLName xml.Name
		Version string `xml:"version,attr"`
		Creator string `xml:"creator,attr"`
		Trk     []struct {
			Name string `xml:"name"`
			Seg  []struct {
				Pts []struct {
					Lat  float64   `xml:"lat,attr"`
					Lon  float64   `xml:"lon,attr"`
					Time time.Time `xml:"time"`
				} `xml:"trkpt"`
			} `xml:"trkseg"`
		} `xml:"trk"`
	}
	if err := xml.Unmarshal(b.Bytes(), &g); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if g.XMLName.Space != "http://www.topografix.com/GPX/1/1" || g.XMLName.Local != "gpx" || g.Version != "1.1" || g.Creator == "" {
		t.Fatalf("root %+v version %q creator %q", g.XMLName, g.Version, g.Creator)
	}
	if len(g.Trk) != 2 || g.Trk[0].Name != "w-a" || g.Trk[1].Name != "w-b" || len(g.Trk[1].Seg) != 1 || len(g.Trk[1].Seg[0].Pts) != 3 {
		t.Fatalf("tracks: %+v", g.Trk)
	}
	if strings.Contains(b.String(), "81.5") {
		t.Fatalf("GPX has no battery element, yet a level is written: %s", b.String())
	}
	pt := g.Trk[1].Seg[0].Pts[1]
	if pt.Lat != -21.5 || pt.Lon != -44.6 || !pt.Time.Equal(time.Date(2026, 5, 1, 12, 0, 2, 123456789, time.UTC)) {
		t.Fatalf("point %+v", pt)
	}
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]history.Format{"": "json", "JSON": "json", "geojson": "geojson", "gpx": "gpx"} {
		if f, ok := history.ParseFormat(s); !ok || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, ok)
		}
	}
	if _, ok := history.ParseFormat("kml"); ok {
		t.Error("kml accepted")
	}
}
