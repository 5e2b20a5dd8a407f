package geofence

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Config tunes the evaluator. The zero value is the default.
type Config struct {
	// ExitBuffer is how many metres beyond its accuracy a fix must be
	// outside a fence to exit it (hysteresis against noisy GPS). Default
	// 10 m; it cannot be zero (use a tiny value for almost none).
	ExitBuffer float64
	// MissingGrace is how long (in fix time) a fence a worker is inside may
	// be missing from the index before the worker's presence in it is
	// forgotten, silently: a deleted fence gives no exit, and a fence that a
	// replica has not loaded yet (or that a change briefly removed) does not
	// give a second enter when it comes back. Default 1 minute.
	MissingGrace time.Duration
}

// DefaultExitBuffer is Config.ExitBuffer's default, in metres.
const DefaultExitBuffer = 10.0

// DefaultMissingGrace is Config.MissingGrace's default.
const DefaultMissingGrace = time.Minute

// Evaluator applies fixes to worker states. It holds only its
// configuration: one serves every team and worker, concurrently (each
// WorkerState being used by one goroutine at a time).
type Evaluator struct {
	exitBuffer   float64
	missingGrace time.Duration
}

// NewEvaluator returns an evaluator with cfg's defaults filled in, or an
// error naming a field that is out of range.
func NewEvaluator(cfg Config) (*Evaluator, error) {
	if cfg.ExitBuffer == 0 {
		cfg.ExitBuffer = DefaultExitBuffer
	}
	if cfg.MissingGrace == 0 {
		cfg.MissingGrace = DefaultMissingGrace
	}
	if !finite(cfg.ExitBuffer) || cfg.ExitBuffer < 0 {
		return nil, fmt.Errorf("geofence: ExitBuffer must be a finite number of metres >= 0, got %v", cfg.ExitBuffer)
	}
	if cfg.MissingGrace < 0 {
		return nil, fmt.Errorf("geofence: MissingGrace must not be negative, got %s", cfg.MissingGrace)
	}
	return &Evaluator{exitBuffer: cfg.ExitBuffer, missingGrace: cfg.MissingGrace}, nil
}

// Fix is one position of a worker, as the evaluator needs it.
type Fix struct {
	Team, Worker string
	Lat, Lon     float64 // WGS84 degrees
	// Accuracy is the radius in metres within which the true position
	// lies (the record's "accuracy"); 0 treats the fix as exact, so the
	// service should give fixes without one a default (such as 10 m).
	Accuracy float64
	Time     time.Time // the fix's own time (the record's timeStamp)
}

// Evaluate applies fix to st and returns the events it causes, in this
// order: for each fence the worker was inside, a dwell that came due before
// the fix and an exit; then the enters. It returns nil, without allocating,
// when nothing happened (the common case).
//
//   - enter: the accuracy circle is wholly inside the fence (the distance
//     to its boundary is at least the accuracy) and the fence is active;
//   - exit: the circle is wholly outside, by ExitBuffer more; a fix between
//     the two (straddling the edge) changes nothing;
//   - dwell: reported once per stay, at Since + Dwell (before an exit that a
//     later fix shows), by Evaluate or by Due, whichever comes first: both
//     give the same event, with the same id;
//   - a fence outside its schedule gives no events and forgets who was in
//     it: when it becomes active again, a worker inside gets an enter, so
//     every active period starts afresh (enter, dwell, exit);
//   - a fence deleted while the worker is inside gives no exit (see
//     Config.MissingGrace); a fence whose geometry, dwell or schedule
//     changed is judged by its new form from the next fix on;
//   - a fix whose time is not after st.Last (a late upload, a duplicate, a
//     replay) is ignored: it returns nil and st does not change. Late
//     fixes still belong in history; they cannot change what has already
//     been reported from newer ones.
//
// Fixes with a position out of range or without a time are ignored too.
// ix must be the index of fix.Team's fences.
func (e *Evaluator) Evaluate(ix *Index, st *WorkerState, fix Fix) []Event {
	if !finite(fix.Lat) || !finite(fix.Lon) || math.Abs(fix.Lat) > 90 || math.Abs(fix.Lon) > 180 ||
		fix.Time.IsZero() || !st.Last.IsZero() && !fix.Time.After(st.Last) {
		return nil
	}
	acc := fix.Accuracy
	if !(acc > 0) { // negative or NaN
		acc = 0
	}
	st.Team, st.Worker = fix.Team, fix.Worker
	var events []Event
	changed := false

	// The fences the worker is inside: a dwell come due, the end of an
	// active period, an exit, a deletion.
	var buf [64]int32
	inside := buf[:0]
	for i := 0; i < len(st.Inside); {
		p := &st.Inside[i]
		fi, ok := p.lookup(ix)
		if !ok {
			if p.Missing.IsZero() {
				p.Missing, changed = fix.Time, true
			} else if fix.Time.Sub(p.Missing) >= e.missingGrace {
				st.Inside, changed = slices.Delete(st.Inside, i, i+1), true
				continue
			}
			i++
			continue
		}
		sh := &ix.shapes[fi]
		if !p.Missing.IsZero() {
			p.Missing, changed = time.Time{}, true
		}
		changed = syncDwell(p, sh.dwell) || changed
		if !p.Dwelled && !p.DwellAt.IsZero() && !p.DwellAt.After(fix.Time) {
			if sh.schedule.Active(p.DwellAt) {
				f := &ix.fences[fi]
				events = append(events, newEvent(Dwell, fix.Team, fix.Worker, f.ID, f.Name, st.Lat, st.Lon, p.DwellAt))
			}
			p.Dwelled, changed = true, true
		}
		if !sh.schedule.Active(fix.Time) {
			st.Inside, changed = slices.Delete(st.Inside, i, i+1), true
			continue
		}
		if sh.outsideBy(fix.Lat, fix.Lon, acc+e.exitBuffer) {
			f := &ix.fences[fi]
			events = append(events, newEvent(Exit, fix.Team, fix.Worker, f.ID, f.Name, fix.Lat, fix.Lon, fix.Time))
			st.Inside, changed = slices.Delete(st.Inside, i, i+1), true
			continue
		}
		inside = append(inside, fi)
		i++
	}

	// The fences the worker may have entered: an enter needs the point
	// itself inside, so the point's cell is all there is to look at.
	enter := func(it *item) {
		if !it.contains(fix.Lat, fix.Lon) || slices.Contains(inside, it.f) {
			return
		}
		sh := &ix.shapes[it.f]
		if !sh.insideBy(fix.Lat, fix.Lon, acc) || !sh.schedule.Active(fix.Time) {
			return
		}
		f := &ix.fences[it.f]
		events = append(events, newEvent(Enter, fix.Team, fix.Worker, f.ID, f.Name, fix.Lat, fix.Lon, fix.Time))
		p := Presence{FenceID: f.ID, Since: fix.Time, index: ix, at: it.f}
		if f.Dwell > 0 {
			p.DwellAt = fix.Time.Add(f.Dwell)
		}
		st.Inside, changed = append(st.Inside, p), true
	}
	cell := ix.cell(fix.Lat, fix.Lon)
	for i := range cell {
		enter(&cell[i])
	}
	for i := range ix.big {
		enter(&ix.big[i])
	}

	st.Last, st.Lat, st.Lon = fix.Time, fix.Lat, fix.Lon
	if changed {
		st.Seq++
	}
	return events
}

// Due returns the dwell events that have come due by now for a worker who
// sent no fix since (the service calls it when NextDue's time comes). Its
// events are those Evaluate would give for the same dwell: same time, same
// id. A worker who went silent inside a fence is taken to be still there;
// the presence status says that it is silent.
func (e *Evaluator) Due(ix *Index, st *WorkerState, now time.Time) []Event {
	var events []Event
	changed := false
	for i := range st.Inside {
		p := &st.Inside[i]
		fi, ok := p.lookup(ix)
		if !ok {
			continue
		}
		f := &ix.fences[fi]
		changed = syncDwell(p, f.Dwell) || changed
		if p.Dwelled || p.DwellAt.IsZero() || p.DwellAt.After(now) {
			continue
		}
		if f.Schedule.Active(p.DwellAt) {
			events = append(events, newEvent(Dwell, st.Team, st.Worker, f.ID, f.Name, st.Lat, st.Lon, p.DwellAt))
		}
		p.Dwelled, changed = true, true
	}
	if changed {
		st.Seq++
	}
	return events
}

// syncDwell follows a change of the fence's dwell time while its dwell
// event is pending; it reports whether p changed.
func syncDwell(p *Presence, dwell time.Duration) bool {
	if p.Dwelled {
		return false
	}
	var want time.Time
	if dwell > 0 {
		want = p.Since.Add(dwell)
	}
	if want.Equal(p.DwellAt) {
		return false
	}
	p.DwellAt = want
	return true
}

// lookup returns the place of p's fence in ix.
func (p *Presence) lookup(ix *Index) (int32, bool) {
	if p.index == ix {
		return p.at, true
	}
	i, ok := ix.lookup(p.FenceID)
	if ok {
		p.index, p.at = ix, i
	}
	return i, ok
}
