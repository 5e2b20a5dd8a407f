package hub

import (
	"slices"
	"sync"

	tracking "github.com/teamtrack/tracking-core"
)

// Queue is one manager's pending positions. The hub pushes into it from the
// broker's delivery goroutine; the manager's writer drains it. While the writer
// keeps up, every position is kept in order. Past the soft limit the queue is
// compacted to the latest position per worker (per-worker order is kept, only
// superseded positions go). When even that exceeds the hard limit, the queue
// overflows: it stops accepting and the writer should drop the connection.
type Queue struct {
	mu        sync.Mutex
	items     []tracking.Message
	compactAt int
	soft      int
	hard      int
	floor     map[floorKey]tracking.Message // per worker and kind: the snapshot's message sent
	after     tracking.Offset               // drop positions not after this one: the stream starts past it
	overflow  bool
	ready     chan struct{} // nil when notify is set
	notify    func()

	conflated int // positions dropped as superseded, since the last Drain
	lost      int // positions dropped by the overflow and refused after it (events not counted)
}

// floorKey is a worker's last message of one kind, in the snapshot.
type floorKey struct {
	worker string
	kind   tracking.Kind
}

// NewQueue returns a queue that compacts past soft pending positions and
// overflows past hard distinct workers.
func NewQueue(soft, hard int) *Queue {
	if soft <= 0 {
		soft = 1024
	}
	if hard < soft {
		hard = soft
	}
	return &Queue{soft: soft, hard: hard, compactAt: soft, ready: make(chan struct{}, 1)}
}

// NewQueueFunc returns a queue like NewQueue's that calls notify, instead
// of signalling Ready, whenever positions are added or it overflows: from
// the goroutine that adds them (the hub's delivery), so notify must not
// block. A reader that drains it then needs no goroutine while it waits.
func NewQueueFunc(soft, hard int, notify func()) *Queue {
	q := NewQueue(soft, hard)
	q.ready, q.notify = nil, notify
	return q
}

// Ready receives a value when the queue becomes non-empty or overflows
// (nil for a queue of NewQueueFunc).
func (q *Queue) Ready() <-chan struct{} { return q.ready }

func (q *Queue) signal() {
	if q.notify != nil {
		q.notify()
		return
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Push appends msgs. It never blocks on the reader.
func (q *Queue) Push(msgs []tracking.Message) {
	q.mu.Lock()
	if q.overflow {
		q.lost += positions(msgs)
		q.mu.Unlock()
		return
	}
	for _, m := range msgs {
		if !q.after.IsZero() {
			if !q.pastStart(m) {
				continue
			}
		}
		if len(q.floor) > 0 && q.belowFloor(m) {
			continue
		}
		q.items = append(q.items, m)
	}
	if len(q.items) > q.compactAt {
		q.compact()
	}
	q.mu.Unlock()
	q.signal()
}

// pastStart reports whether m comes after the offset the stream starts
// past. Deliveries of a team come in offset order, so once one is past it,
// all that follow are: the check ends there. An offset of another epoch (the
// broker lost its data meanwhile) is past it too.
func (q *Queue) pastStart(m tracking.Message) bool {
	if m.Offset.Epoch == q.after.Epoch && !m.Offset.After(q.after) {
		return false
	}
	q.after = tracking.Offset{}
	return true
}

// belowFloor drops a live position (or status) not newer than the snapshot's
// one already queued for its worker, so that a worker never appears to move
// backwards, nor to go back to an older status. Alerts and deliveries have no floor.
func (q *Queue) belowFloor(m tracking.Message) bool {
	if !m.Kind.InLast() {
		return false
	}
	k := floorKey{m.Worker, m.Kind}
	f, ok := q.floor[k]
	if !ok {
		return false
	}
	if !newer(&m, &f) {
		return true
	}
	delete(q.floor, k)
	return false
}

// newer reports whether m strictly supersedes prev (see
// tracking.Message.Supersedes, where equal keys supersede).
func newer(m, prev *tracking.Message) bool {
	if m.Kind == tracking.KindStatus {
		return m.Time > prev.Time || m.Time == prev.Time && m.Received > prev.Received
	}
	return m.Time > prev.Time
}

// compact keeps the latest position of each worker, the newest fix (a late
// record with an older fix supersedes nothing), in the order of those latest
// positions, and every event (statuses and alerts are never superseded
// here: each is a change a manager is told of). Called with mu held.
func (q *Queue) compact() {
	latest := make(map[string]int, len(q.items)/2)
	for i, m := range q.items {
		if m.Kind != tracking.KindPosition {
			continue
		}
		if j, ok := latest[m.Worker]; !ok || q.items[j].Time <= m.Time {
			latest[m.Worker] = i
		}
	}
	kept := q.items[:0]
	for i, m := range q.items {
		if m.Kind != tracking.KindPosition || latest[m.Worker] == i {
			kept = append(kept, m)
		}
	}
	q.conflated += len(q.items) - len(kept)
	clear(q.items[len(kept):]) // release the JSON of dropped positions
	q.items = kept
	if len(q.items) > q.hard {
		q.overflow = true
		q.lost += positions(q.items)
		q.items = nil
		return
	}
	q.compactAt = max(q.soft, 2*len(q.items))
}

// Prime puts the snapshot at the head of the queue: for each worker with no
// position queued yet, its last known one. Live positions of such a worker that
// are not newer than the snapshot one are dropped from then on.
//
// at is the stream's head when the snapshot was taken (zero if unknown):
// live positions at or before it are dropped, and a mark carrying it (a
// Message with no JSON) follows the snapshot, so that the client learns
// where to resume from. Snapshot positions carry no offset of their own: a
// client cut off in the middle of the snapshot must not resume from there.
func (q *Queue) Prime(snapshot []tracking.Message, at tracking.Offset) {
	if len(snapshot) == 0 && at.IsZero() {
		return
	}
	q.mu.Lock()
	q.skipUntil(at)
	queued := make(map[floorKey]struct{}, len(q.items))
	for _, m := range q.items {
		queued[floorKey{m.Worker, m.Kind}] = struct{}{}
	}
	head := make([]tracking.Message, 0, len(snapshot)+1+len(q.items))
	for _, m := range snapshot {
		if _, ok := queued[floorKey{m.Worker, m.Kind}]; ok || !m.Kind.InLast() {
			continue
		}
		m.Offset = tracking.Offset{}
		head = append(head, m)
		if q.floor == nil {
			q.floor = make(map[floorKey]tracking.Message, len(snapshot))
		}
		q.floor[floorKey{m.Worker, m.Kind}] = m
	}
	if !at.IsZero() {
		head = append(head, tracking.Message{Offset: at})
	}
	q.items = append(head, q.items...)
	q.mu.Unlock()
	q.signal()
}

// Resume puts the positions a resuming client missed (oldest first) at the
// head of the queue, and drops live positions at or before at, the last of
// them (or where the client was, when it missed none). They are kept whole:
// compaction starts past them.
func (q *Queue) Resume(missed []tracking.Message, at tracking.Offset) {
	q.mu.Lock()
	q.skipUntil(at)
	q.items = append(slices.Clip(missed), q.items...)
	q.compactAt = max(q.compactAt, len(q.items)+q.soft)
	q.mu.Unlock()
	q.signal()
}

// skipUntil drops the queued positions at or before at, and those pushed
// from now on. Called with mu held.
func (q *Queue) skipUntil(at tracking.Offset) {
	if at.IsZero() {
		return
	}
	q.after = at
	kept := q.items[:0]
	for _, m := range q.items {
		if q.after.IsZero() || q.pastStart(m) {
			kept = append(kept, m)
		}
	}
	clear(q.items[len(kept):])
	q.items = kept
}

// Drain moves every pending position to dst and returns it with the number of
// positions conflated since the last Drain, and whether the queue overflowed.
func (q *Queue) Drain(dst []tracking.Message) (out []tracking.Message, conflated int, overflow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.overflow {
		return dst, q.conflated, true
	}
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	if cap(q.items) > 4*q.soft {
		q.items = nil // a burst grew it: give the memory back
	}
	conflated, q.conflated = q.conflated, 0
	return dst, conflated, false
}

// Trim gives back the room an empty queue keeps beyond a few positions: a
// reader calls it when its stream goes idle, so that an idle watcher does
// not hold what a snapshot or a busy minute grew, while a busy one keeps
// its room from drain to drain (no allocation per batch).
func (q *Queue) Trim() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 && cap(q.items) > keptCap {
		q.items = nil
	}
}

// keptCap is the most room Trim leaves an empty queue.
const keptCap = 4

// Lost is the number of positions an overflowed queue dropped: those pending
// when it overflowed and those pushed since (events are not counted). Zero
// until it overflows.
func (q *Queue) Lost() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lost
}

// Len is the number of pending positions.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// positions counts the messages of kind position in msgs.
func positions(msgs []tracking.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Kind == tracking.KindPosition {
			n++
		}
	}
	return n
}
