package geofence

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The scenario: walk in, stay past the dwell time, walk out: exactly
// enter, dwell, exit, with the right times and positions.
func TestWalkInDwellWalkOut(t *testing.T) {
	f := squareFence("site", 0, 0, 200)
	f.Dwell = 5 * time.Minute
	ix := NewIndex([]Fence{f})
	e := newEval(t, Config{})
	var st WorkerState
	var all []Event
	// From 300 m west, 1 m/s east, a fix every second, accuracy 7.5 m, to
	// 300 m east of the centre, pausing 6 minutes at the centre.
	tm := t0
	x := -300.0
	for x < 300 {
		all = append(all, e.Evaluate(ix, &st, fixAt(x, 0, 7.5, tm))...)
		tm = tm.Add(time.Second)
		if x == 0 {
			for range 360 {
				all = append(all, e.Evaluate(ix, &st, fixAt(0, 0, 7.5, tm))...)
				tm = tm.Add(time.Second)
			}
		}
		x++
	}
	if got := kinds(all); got != "enter:site,dwell:site,exit:site" {
		t.Fatalf("events %s, want enter, dwell, exit", got)
	}
	enter, dwell, exit := all[0], all[1], all[2]
	// Inside by the accuracy: from 100-7.5 = 92.5 m west of the centre.
	if want := t0.Add(208 * time.Second); !enter.Time.Equal(want) {
		t.Errorf("enter at %s, want %s", enter.Time, want)
	}
	if want := enter.Time.Add(5 * time.Minute); !dwell.Time.Equal(want) {
		t.Errorf("dwell at %s, want enter + 5m = %s", dwell.Time, want)
	}
	// Outside by accuracy + buffer: from 100+7.5+10 = 117.5 m east.
	if want := t0.Add((300 + 360 + 118) * time.Second); !exit.Time.Equal(want) {
		t.Errorf("exit at %s, want %s", exit.Time, want)
	}
	for _, ev := range all {
		if ev.Team != "team_one" || ev.Worker != "w-17" || ev.Name != "Square site" || ev.ID == "" {
			t.Errorf("event %+v", ev)
		}
	}
	if len(st.Inside) != 0 {
		t.Errorf("state still inside: %+v", st.Inside)
	}
}

// The anti-flapping scenario: a fix jittering ±15 m with accuracy
// 20 m around an edge for a minute gives no event at all, whichever side the
// worker started on.
func TestJitterAroundEdgeNoEvents(t *testing.T) {
	for _, fence := range []Fence{squareFence("sq", 0, 0, 400), circleFence("ci", 0, 0, 200)} {
		for _, startInside := range []bool{false, true} {
			ix := NewIndex([]Fence{fence})
			e := newEval(t, Config{})
			var st WorkerState
			tm := t0
			if startInside {
				if evs := e.Evaluate(ix, &st, fixAt(0, 0, 5, tm)); kinds(evs) != "enter:"+fence.ID {
					t.Fatalf("setup: %s", kinds(evs))
				}
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 600 { // 10 Hz for a minute
				tm = t0.Add(time.Second + time.Duration(i)*100*time.Millisecond)
				// The edge is 200 m east of the centre.
				x := 200 + (rng.Float64()*2-1)*15
				y := (rng.Float64()*2 - 1) * 15
				if evs := e.Evaluate(ix, &st, fixAt(x, y, 20, tm)); len(evs) != 0 {
					t.Fatalf("%s, inside=%v: fix %d at %.1f m east: events %s", fence.ID, startInside, i, x, kinds(evs))
				}
			}
			if got := len(st.Inside) == 1; got != startInside {
				t.Errorf("%s: inside=%v after the jitter, started %v", fence.ID, got, startInside)
			}
		}
	}
}

func TestEnterExitRules(t *testing.T) {
	ix := NewIndex([]Fence{circleFence("c", 0, 0, 100)})
	e := newEval(t, Config{ExitBuffer: 10})
	tests := []struct {
		name       string
		east, acc  float64
		wasInside  bool
		wantEvents string
	}{
		{"inside by more than the accuracy", 50, 20, false, "enter:c"},
		{"inside by just the accuracy", 79.9, 20, false, "enter:c"},
		{"inside by just less than the accuracy", 80.1, 20, false, ""},
		{"inside, circle straddles", 85, 20, false, ""},
		{"exact fix inside", 99, 0, false, "enter:c"},
		{"accuracy larger than the fence", 0, 150, false, ""},
		{"outside, circle straddles", 115, 20, true, ""},
		{"outside by accuracy, not the buffer", 125, 20, true, ""},
		{"outside by just less than accuracy + buffer", 129.9, 20, true, ""},
		{"outside by just accuracy + buffer", 130.1, 20, true, "exit:c"},
		{"far outside", 5000, 20, true, "exit:c"},
		{"inside stays inside", 0, 5, true, ""},
		{"outside stays outside", 500, 5, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st WorkerState
			if tt.wasInside {
				e.Evaluate(ix, &st, fixAt(0, 0, 0, t0))
				if len(st.Inside) != 1 {
					t.Fatal("setup: not inside")
				}
			}
			evs := e.Evaluate(ix, &st, fixAt(tt.east, 0, tt.acc, t0.Add(time.Second)))
			if got := kinds(evs); got != tt.wantEvents {
				t.Fatalf("events %q, want %q", got, tt.wantEvents)
			}
		})
	}
}

func TestLateFixIgnored(t *testing.T) {
	ix := NewIndex([]Fence{circleFence("c", 0, 0, 100)})
	e := newEval(t, Config{})
	var st WorkerState
	if evs := e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(time.Minute))); len(evs) != 1 {
		t.Fatalf("enter: %s", kinds(evs))
	}
	before := st
	before.Inside = append([]Presence(nil), st.Inside...)
	// An upload of what the phone buffered: older, and outside.
	for _, tm := range []time.Time{t0, t0.Add(59 * time.Second), t0.Add(time.Minute)} {
		if evs := e.Evaluate(ix, &st, fixAt(5000, 0, 5, tm)); evs != nil {
			t.Fatalf("late fix at %s: events %s", tm, kinds(evs))
		}
	}
	if st.Last != before.Last || st.Seq != before.Seq || len(st.Inside) != 1 || st.Lat != before.Lat {
		t.Fatalf("a late fix changed the state: %+v, was %+v", st, before)
	}
	if evs := e.Evaluate(ix, &st, fixAt(5000, 0, 5, t0.Add(2*time.Minute))); kinds(evs) != "exit:c" {
		t.Fatalf("a newer fix: %s", kinds(evs))
	}
}

func TestDueDwellWithoutFix(t *testing.T) {
	f := circleFence("c", 0, 0, 100)
	f.Dwell = 2 * time.Minute
	ix := NewIndex([]Fence{f})
	e := newEval(t, Config{})
	var st WorkerState
	if NextDue(&st) != (time.Time{}) {
		t.Fatal("NextDue of an empty state")
	}
	e.Evaluate(ix, &st, fixAt(0, 0, 5, t0))
	if got, want := NextDue(&st), t0.Add(2*time.Minute); !got.Equal(want) {
		t.Fatalf("NextDue %s, want %s", got, want)
	}
	if evs := e.Due(ix, &st, t0.Add(119*time.Second)); evs != nil {
		t.Fatalf("early Due: %s", kinds(evs))
	}
	viaDue := e.Due(ix, &st, t0.Add(3*time.Minute))
	if kinds(viaDue) != "dwell:c" || !viaDue[0].Time.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("Due: %+v", viaDue)
	}
	if evs := e.Due(ix, &st, t0.Add(4*time.Minute)); evs != nil {
		t.Fatalf("second Due: %s", kinds(evs))
	}
	if evs := e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(5*time.Minute))); evs != nil {
		t.Fatalf("fix after the dwell: %s", kinds(evs))
	}
	if !NextDue(&st).IsZero() {
		t.Fatal("NextDue after the dwell was reported")
	}

	// Without Due, the next fix reports the same dwell, with the same id.
	var st2 WorkerState
	e.Evaluate(ix, &st2, fixAt(0, 0, 5, t0))
	viaFix := e.Evaluate(ix, &st2, fixAt(0, 10, 5, t0.Add(150*time.Second)))
	if len(viaFix) != 1 || viaFix[0] != viaDue[0] {
		t.Fatalf("dwell by fix %+v, by Due %+v", viaFix, viaDue)
	}
}

// A worker who enters and leaves before the dwell time gets no dwell; one
// whose exit fix comes after the dwell time gets the dwell first.
func TestDwellAndExit(t *testing.T) {
	f := circleFence("c", 0, 0, 100)
	f.Dwell = time.Minute
	ix := NewIndex([]Fence{f})
	e := newEval(t, Config{})
	var st WorkerState
	e.Evaluate(ix, &st, fixAt(0, 0, 5, t0))
	if evs := e.Evaluate(ix, &st, fixAt(500, 0, 5, t0.Add(30*time.Second))); kinds(evs) != "exit:c" {
		t.Fatalf("short stay: %s", kinds(evs))
	}
	e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(40*time.Second)))
	if evs := e.Evaluate(ix, &st, fixAt(500, 0, 5, t0.Add(200*time.Second))); kinds(evs) != "dwell:c,exit:c" {
		t.Fatalf("long stay, one fix out: %s", kinds(evs))
	}
}

// The state survives a move to another replica: serialised, restored, and
// the worker carries on with no second enter, and still gets its dwell and
// exit.
func TestStateRoundTripContinues(t *testing.T) {
	f := squareFence("site", 0, 0, 200)
	f.Dwell = time.Minute
	ix := NewIndex([]Fence{f, circleFence("c", 1000, 0, 50)})
	e := newEval(t, Config{})
	var st WorkerState
	if kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0))) != "enter:site" {
		t.Fatal("no enter")
	}
	e.Evaluate(ix, &st, fixAt(1, 0, 5, t0.Add(time.Second)))
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("binary state: %d bytes", len(b))
	var restored WorkerState
	if err := restored.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !restored.Last.Equal(st.Last) || restored.Seq != st.Seq || restored.Team != "team_one" ||
		len(restored.Inside) != 1 || !restored.Inside[0].Since.Equal(t0) || !restored.Inside[0].DwellAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("restored %+v, was %+v", restored, st)
	}
	// Another replica's evaluator.
	e2 := newEval(t, Config{})
	var all []Event
	for i := 2; i < 120; i++ {
		all = append(all, e2.Evaluate(ix, &restored, fixAt(float64(i), 0, 5, t0.Add(time.Duration(i)*time.Second)))...)
	}
	all = append(all, e2.Evaluate(ix, &restored, fixAt(1000, 0, 5, t0.Add(200*time.Second)))...)
	if got := kinds(all); got != "dwell:site,exit:site,enter:c" {
		t.Fatalf("after the restore: %s", got)
	}

	// Corrupt input is refused, never a panic.
	for i := range b {
		var x WorkerState
		_ = x.UnmarshalBinary(b[:i])
	}
	if err := new(WorkerState).UnmarshalBinary([]byte{9}); err == nil {
		t.Error("unknown version accepted")
	}
}

// A fence deleted while a worker is inside gives no exit; its presence is
// forgotten after MissingGrace, and a fence that comes back within it gives
// no second enter.
func TestDeletedFence(t *testing.T) {
	a, b := circleFence("a", 0, 0, 100), circleFence("b", 0, 0, 300)
	both, onlyB := NewIndex([]Fence{a, b}), NewIndex([]Fence{b})
	e := newEval(t, Config{MissingGrace: time.Minute})
	var st WorkerState
	if kinds(e.Evaluate(both, &st, fixAt(0, 0, 5, t0))) != "enter:a,enter:b" {
		t.Fatal("setup")
	}
	// a disappears for 30 s (a replica reloading), then comes back.
	for i := 1; i <= 30; i++ {
		if evs := e.Evaluate(onlyB, &st, fixAt(0, 0, 5, t0.Add(timeSecond(i)))); evs != nil {
			t.Fatalf("a missing: %s", kinds(evs))
		}
	}
	if evs := e.Evaluate(both, &st, fixAt(0, 0, 5, t0.Add(31*time.Second))); evs != nil {
		t.Fatalf("a back: %s", kinds(evs))
	}
	if !st.Inside[0].Missing.IsZero() {
		t.Fatal("Missing not cleared")
	}
	// a deleted for good: no exit, forgotten after a minute.
	for i := 32; i <= 100; i++ {
		if evs := e.Evaluate(onlyB, &st, fixAt(0, 0, 5, t0.Add(timeSecond(i)))); evs != nil {
			t.Fatalf("a deleted: %s", kinds(evs))
		}
	}
	if len(st.Inside) != 1 || st.Inside[0].FenceID != "b" {
		t.Fatalf("a not forgotten: %+v", st.Inside)
	}
}

// A fence whose geometry changed is judged by the new one at the next fix.
func TestChangedGeometry(t *testing.T) {
	small, big := circleFence("c", 0, 0, 100), circleFence("c", 0, 0, 1000)
	e := newEval(t, Config{})
	var st WorkerState
	if evs := e.Evaluate(NewIndex([]Fence{small}), &st, fixAt(500, 0, 5, t0)); evs != nil {
		t.Fatal("outside the small circle")
	}
	if kinds(e.Evaluate(NewIndex([]Fence{big}), &st, fixAt(500, 0, 5, t0.Add(time.Second)))) != "enter:c" {
		t.Fatal("no enter into the grown circle")
	}
	if kinds(e.Evaluate(NewIndex([]Fence{small}), &st, fixAt(500, 0, 5, t0.Add(2*time.Second)))) != "exit:c" {
		t.Fatal("no exit from the shrunk circle")
	}
}

// A fence outside its schedule gives no events and forgets who was in it;
// at the next active period a worker inside gets an enter.
func TestScheduleEdges(t *testing.T) {
	f := circleFence("c", 0, 0, 100)
	f.Dwell = 10 * time.Minute
	// 09:00-10:00 UTC, every day; t0 is 09:00.
	f.Schedule = &Schedule{From: 9 * 60, To: 10 * 60}
	ix := NewIndex([]Fence{f})
	e := newEval(t, Config{})
	var st WorkerState
	if kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(-time.Minute)))) != "" {
		t.Fatal("enter before the schedule")
	}
	if kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0))) != "enter:c" {
		t.Fatal("no enter at the start of the schedule")
	}
	// 09:55: the dwell is due at 09:10 (reported), then at 10:00 the fence
	// ends and the presence is forgotten without an exit.
	if got := kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(55*time.Minute)))); got != "dwell:c" {
		t.Fatalf("09:55: %s", got)
	}
	if got := kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(60*time.Minute)))); got != "" || len(st.Inside) != 0 {
		t.Fatalf("10:00: %s, inside %v", got, st.Inside)
	}
	if got := kinds(e.Evaluate(ix, &st, fixAt(5000, 0, 5, t0.Add(70*time.Minute)))); got != "" {
		t.Fatalf("leaving at 10:10: %s", got)
	}
	// Next day, already inside at 09:00: enter.
	if got := kinds(e.Evaluate(ix, &st, fixAt(0, 0, 5, t0.Add(24*time.Hour)))); got != "enter:c" {
		t.Fatalf("next day: %s", got)
	}
}

func TestEventIDsDeterministic(t *testing.T) {
	ix := NewIndex([]Fence{circleFence("c", 0, 0, 100)})
	run := func() []Event {
		e := newEval(t, Config{})
		var st WorkerState
		var all []Event
		for i, x := range []float64{-500, 0, 500, 0} {
			all = append(all, e.Evaluate(ix, &st, fixAt(x, 0, 5, t0.Add(timeSecond(i))))...)
		}
		return all
	}
	a, b := run(), run()
	if kinds(a) != "enter:c,exit:c,enter:c" || len(a) != len(b) {
		t.Fatalf("%s / %s", kinds(a), kinds(b))
	}
	seen := map[string]bool{}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Errorf("replay changed id %s -> %s", a[i].ID, b[i].ID)
		}
		if seen[a[i].ID] {
			t.Errorf("id %s repeated", a[i].ID)
		}
		seen[a[i].ID] = true
	}
	if id := EventID("t", "w", "f", Enter, t0); len(id) != 36 || id[14] != '8' {
		t.Errorf("id %q is not a version 8 UUID", id)
	}
	if EventID("t", "w", "f", Enter, t0) == EventID("t", "w", "f", Enter, t0.Add(time.Nanosecond)) ||
		EventID("t", "wf", "", Enter, t0) == EventID("t", "w", "f", Enter, t0) {
		t.Error("distinct events share an id")
	}
}

func TestBadFixesIgnored(t *testing.T) {
	ix := NewIndex([]Fence{circleFence("c", 0, 0, 100)})
	e := newEval(t, Config{})
	var st WorkerState
	for _, f := range []Fix{
		{Team: "team_one", Worker: "w", Lat: math.NaN(), Lon: baseLon, Time: t0},
		{Team: "team_one", Worker: "w", Lat: baseLat, Lon: math.Inf(1), Time: t0},
		{Team: "team_one", Worker: "w", Lat: 91, Lon: baseLon, Time: t0},
		{Team: "team_one", Worker: "w", Lat: baseLat, Lon: baseLon},
	} {
		if evs := e.Evaluate(ix, &st, f); evs != nil || !st.Last.IsZero() {
			t.Errorf("fix %+v: %s", f, kinds(evs))
		}
	}
	// NaN and negative accuracy count as 0.
	if kinds(e.Evaluate(ix, &st, Fix{Team: "team_one", Worker: "w", Lat: baseLat, Lon: baseLon, Accuracy: math.NaN(), Time: t0})) != "enter:c" {
		t.Error("NaN accuracy")
	}
	if _, err := NewEvaluator(Config{ExitBuffer: -1}); err == nil {
		t.Error("negative ExitBuffer accepted")
	}
}

func TestEventJSON(t *testing.T) {
	ev := Event{ID: "id-1", Kind: Enter, Team: "team_one", Worker: "w-17", FenceID: "depot",
		Name: "Dépôt \"Nord\"\n\x01", Lat: -23.55052, Lon: -46.633308, Time: time.Date(2026, 11, 22, 13, 21, 4, 123456789, time.UTC)}
	want := `{"id":"id-1","kind":"enter","team":"team_one","workerId":"w-17","fenceId":"depot","name":"Dépôt \"Nord\"\n\u0001",` +
		`"location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z"}`
	if got := string(ev.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	ev = Event{ID: "id-2", Kind: Apart, Team: "t", Worker: "a", RuleID: "r", Peer: "b", Name: "pair", Time: t0}
	want = `{"id":"id-2","kind":"apart","team":"t","workerId":"a","ruleId":"r","peerId":"b","name":"pair",` +
		`"location":{"latitude":0,"longitude":0},"timeStamp":"2026-11-23T09:00:00.000Z"}`
	if got := string(ev.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = ev.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %v times", n)
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	ix := NewIndex([]Fence{circleFence("c", 0, 0, 100), squareFence("s", 50, 0, 300)})
	e := newEval(t, Config{})
	var st WorkerState
	e.Evaluate(ix, &st, fixAt(0, 0, 5, t0))
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		i++
		e.Evaluate(ix, &st, fixAt(float64(i%10), 0, 5, t0.Add(timeSecond(i))))
	}); n != 0 {
		t.Errorf("Evaluate without events allocates %v times", n)
	}
}
