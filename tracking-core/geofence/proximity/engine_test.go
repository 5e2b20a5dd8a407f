package proximity

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/geofence"
)

const baseLat, baseLon = -23.55052, -46.633308

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fix returns worker's fix east metres from the base at t0 + sec seconds.
func fix(worker string, east, acc float64, sec int) geofence.Fix {
	lon := baseLon + east/(111320*math.Cos(baseLat*math.Pi/180))
	return geofence.Fix{Team: "team_one", Worker: worker, Lat: baseLat, Lon: lon, Accuracy: acc, Time: t0.Add(time.Duration(sec) * time.Second)}
}

func kinds(evs []geofence.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Kind)+":"+e.Worker)
	}
	return strings.Join(s, ",")
}

func newEngine(t testing.TB, rules ...Rule) *Engine {
	t.Helper()
	e, err := NewEngine("team_one", rules, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var pair = Rule{ID: "buddies", Name: "Buddy system", Kind: geofence.Apart, Workers: []string{"a", "b"}, Distance: 100, For: time.Minute}

// Two workers drift apart, stay apart past For, come back: apart once (at
// start + For), together once; noise in between changes nothing.
func TestApartEpisode(t *testing.T) {
	e := newEngine(t, pair)
	var all []geofence.Event
	for s := 0; s < 600; s++ {
		var bx float64
		switch {
		case s < 100:
			bx = 20 // together
		case s < 300:
			bx = 200 // apart: 200 - √(2)·10 > 110
		case s < 400:
			bx = 100 + 5*math.Sin(float64(s)) // around the distance: uncertain
		default:
			bx = 50
		}
		all = append(all, e.Observe(fix("a", 0, 10, s))...)
		all = append(all, e.Observe(fix("b", bx, 10, s))...)
	}
	if got := kinds(all); got != "apart:a,together:a" {
		t.Fatalf("events %s", got)
	}
	ap, tg := all[0], all[1]
	if want := t0.Add(160 * time.Second); !ap.Time.Equal(want) || ap.Peer != "b" || ap.RuleID != "buddies" || ap.Name != "Buddy system" {
		t.Errorf("apart %+v, want at %s", ap, want)
	}
	if want := t0.Add(400 * time.Second); !tg.Time.Equal(want) {
		t.Errorf("together at %s, want %s", tg.Time, want)
	}
	if ap.ID == tg.ID || ap.ID == "" {
		t.Error("ids")
	}
}

// Apart for less than For: no event at all.
func TestApartShortEpisodeSilent(t *testing.T) {
	e := newEngine(t, pair)
	var all []geofence.Event
	for s := 0; s < 300; s++ {
		bx := 20.0
		if s >= 100 && s < 150 {
			bx = 500
		}
		all = append(all, e.Observe(fix("a", 0, 5, s))...)
		all = append(all, e.Observe(fix("b", bx, 5, s))...)
	}
	if len(all) != 0 {
		t.Fatalf("events %s", kinds(all))
	}
}

// A silent worker stops the judging of an apart rule.
func TestApartStaleWorkerIgnored(t *testing.T) {
	e := newEngine(t, pair)
	e.Observe(fix("b", 1000, 5, 0))
	for s := 200; s < 600; s++ { // b silent for more than Stale
		if evs := e.Observe(fix("a", 0, 5, s)); evs != nil {
			t.Fatalf("events %s with b silent", kinds(evs))
		}
	}
}

var lone = Rule{ID: "lone", Name: "Lone worker", Kind: geofence.Alone, Distance: 50, For: 2 * time.Minute}

func TestAloneEpisode(t *testing.T) {
	e := newEngine(t, lone)
	var all []geofence.Event
	for s := 0; s < 600; s++ {
		// c works with d until 100 s, walks 400 m away until 400 s, then
		// back; d stays.
		cx := 10.0
		if s >= 100 && s < 400 {
			cx = 400
		}
		all = append(all, e.Observe(fix("c", cx, 5, s))...)
		all = append(all, e.Observe(fix("d", 0, 5, s))...)
	}
	// Both are alone from 100 s (apart from each other), reported at 220 s;
	// together again at 400 s.
	if got := kinds(all); got != "alone:c,alone:d,joined:c,joined:d" {
		t.Fatalf("events %s", got)
	}
	if !all[0].Time.Equal(t0.Add(220*time.Second)) || !all[2].Time.Equal(t0.Add(400*time.Second)) {
		t.Errorf("times %s, %s", all[0].Time, all[2].Time)
	}
}

// The workers an alone rule applies to; the others still count as company.
func TestAloneAppliesTo(t *testing.T) {
	r := lone
	r.Workers = []string{"c"}
	r.For = 0
	e := newEngine(t, r)
	if evs := e.Observe(fix("d", 0, 5, 0)); evs != nil {
		t.Fatalf("d is not under the rule: %s", kinds(evs))
	}
	if evs := e.Observe(fix("c", 1000, 5, 1)); kinds(evs) != "alone:c" {
		t.Fatalf("c far from d: %s", kinds(evs))
	}
	if evs := e.Observe(fix("c", 20, 5, 2)); kinds(evs) != "joined:c" {
		t.Fatalf("c near d: %s", kinds(evs))
	}
	// A teammate silent past Stale is no company.
	if evs := e.Observe(fix("c", 20, 5, 500)); kinds(evs) != "alone:c" {
		t.Fatalf("d silent: %s", kinds(evs))
	}
}

// Accuracy: a teammate whose uncertainty straddles the distance neither
// ends nor starts an episode.
func TestAloneUncertainNoChange(t *testing.T) {
	r := lone
	r.For = 0
	e := newEngine(t, r)
	e.Observe(fix("d", 0, 20, 0))
	rng := rand.New(rand.NewPCG(1, 2))
	for s := 1; s < 600; s++ {
		// 40-70 m from d, accuracies 20 m: never certain either way.
		if evs := e.Observe(fix("c", 55+(rng.Float64()*2-1)*15, 20, s)); evs != nil {
			t.Fatalf("s=%d: %s", s, kinds(evs))
		}
		if s%60 == 0 {
			e.Observe(fix("d", 0, 20, s))
		}
	}
}

// The same fixes give the same events and ids, on any engine.
func TestProximityDeterministic(t *testing.T) {
	run := func() []geofence.Event {
		e := newEngine(t, pair, lone)
		var all []geofence.Event
		for s := range 400 {
			all = append(all, e.Observe(fix("a", 0, 5, s))...)
			all = append(all, e.Observe(fix("b", float64(s), 5, s))...)
		}
		return all
	}
	a, b := run(), run()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%s / %s", kinds(a), kinds(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("event %d: %+v / %+v", i, a[i], b[i])
		}
	}
}

func TestLateAndBadFixesIgnored(t *testing.T) {
	r := lone
	r.For = 0
	e := newEngine(t, r)
	if kinds(e.Observe(fix("c", 0, 5, 10))) != "alone:c" {
		t.Fatal("setup")
	}
	e.Observe(fix("d", 1000, 5, 10))
	for _, f := range []geofence.Fix{
		fix("c", 1000, 5, 9),    // late
		fix("c", 1000, 500, 11), // too vague
		{Team: "other", Worker: "c", Lat: baseLat, Lon: baseLon, Time: t0.Add(time.Hour)},
		{Team: "team_one", Worker: "c", Lat: math.NaN(), Lon: baseLon, Time: t0.Add(time.Hour)},
	} {
		if evs := e.Observe(f); evs != nil {
			t.Fatalf("fix %+v: %s", f, kinds(evs))
		}
	}
	e.Prune(t0.Add(time.Hour))
	if e.Len() != 0 {
		t.Fatalf("%d workers after Prune", e.Len())
	}
}

func TestSetRulesKeepsEpisodes(t *testing.T) {
	e := newEngine(t, pair)
	e.Observe(fix("a", 0, 5, 100))
	e.Observe(fix("b", 500, 5, 100))
	if kinds(e.Observe(fix("b", 500, 5, 160))) != "apart:a" {
		t.Fatal("setup")
	}
	other := lone
	if err := e.SetRules([]Rule{pair, other}); err != nil {
		t.Fatal(err)
	}
	if evs := e.Observe(fix("b", 501, 5, 161)); kinds(evs) != "alone:b" && evs != nil {
		t.Fatalf("unchanged rule reported again: %s", kinds(evs))
	}
	if evs := e.Observe(fix("b", 10, 5, 162)); kinds(evs) != "together:a" {
		t.Fatalf("closing after SetRules: %s", kinds(evs))
	}
}

func TestRuleValidateAndJSON(t *testing.T) {
	for _, tc := range []struct {
		in, field string
	}{
		{`{"id":"r","kind":"apart","workers":["a"],"distance":10}`, "workers"},
		{`{"id":"r","kind":"apart","workers":["a","a"],"distance":10}`, "workers[1]"},
		{`{"id":"r","kind":"near","distance":10}`, "kind"},
		{`{"id":"r","kind":"alone","distance":0}`, "distance"},
		{`{"id":"r","kind":"alone","distance":10,"for":"soon"}`, "for"},
		{`{"id":"r","kind":"alone","distance":10,"workers":["a b"]}`, "workers[0]"},
		{`{"kind":"alone","distance":10}`, "id"},
	} {
		var r Rule
		err := json.Unmarshal([]byte(tc.in), &r)
		var te *tracking.Error
		if !errors.As(err, &te) || te.Field != tc.field {
			t.Errorf("%s: error %v, want field %s", tc.in, err, tc.field)
		}
	}
	var r Rule
	in := `{"id":"pair-1","team":"team_one","name":"Buddy system","kind":"apart","workers":["w-1","w-2"],"distance":200,"for":"5m0s"}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(r)
	if string(out) != in {
		t.Errorf("round trip %s", out)
	}
	if _, err := NewEngine("team_two", []Rule{r}, Config{}); err == nil {
		t.Error("a rule of another team accepted")
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	e := newEngine(t, pair, lone)
	for i, w := range []string{"a", "b", "c", "d"} {
		e.Observe(fix(w, float64(i*10), 5, 0))
	}
	s := 0
	if n := testing.AllocsPerRun(200, func() {
		s++
		e.Observe(fix("a", float64(s%5), 5, s))
	}); n != 0 {
		t.Errorf("Observe allocates %v times", n)
	}
}
