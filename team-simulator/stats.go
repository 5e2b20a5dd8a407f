package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

// counters are the live counters of a run, shared by every worker and
// manager goroutine.
type counters struct {
	workers          atomic.Int64 // workers started
	workersConnected atomic.Int64
	sent             atomic.Int64 // positions written to a connection
	errors           atomic.Int64 // worker-side: failed dials and sends, server error messages, rejected records
	reconnects       atomic.Int64 // worker connections re-established after one ended

	// What the server tells workers besides answers to their records.
	messages  atomic.Int64 // dispatch messages received ({"type":"message"}), redeliveries included
	acks      atomic.Int64 // acks written
	reads     atomic.Int64 // read receipts written (-read-after)
	advice    atomic.Int64 // sampling advice received (WebSocket config messages, POST summaries' config)
	badAdvice atomic.Int64 // advice whose interval could not be used (also counted in errors)
	// intervals counts the workers on each reporting interval now.
	intervalsMu sync.Mutex
	intervals   map[time.Duration]int64

	managers          atomic.Int64
	managersConnected atomic.Int64
	received          atomic.Int64 // new positions seen by managers (duplicates excluded)
	duplicates        atomic.Int64 // positions a manager had already seen (e.g. a snapshot after reconnecting)
	foreign           atomic.Int64 // records not sent by this run (other simulators, earlier runs)
	managerErrors     atomic.Int64
	managerReconnects atomic.Int64             // manager streams re-established after one ended
	alerts            [alertKinds]atomic.Int64 // alert events received by managers, by kind (alertKind)

	lastError atomic.Pointer[string]
}

// moveInterval moves one worker from reporting every from (0: a worker
// starting) to every to.
func (c *counters) moveInterval(from, to time.Duration) {
	c.intervalsMu.Lock()
	defer c.intervalsMu.Unlock()
	if c.intervals == nil {
		c.intervals = make(map[time.Duration]int64)
	}
	if from > 0 {
		if c.intervals[from]--; c.intervals[from] <= 0 {
			delete(c.intervals, from)
		}
	}
	c.intervals[to]++
}

// intervalCounts returns how many workers report at each interval, shortest first.
func (c *counters) intervalCounts() []IntervalCount {
	c.intervalsMu.Lock()
	out := make([]IntervalCount, 0, len(c.intervals))
	for d, n := range c.intervals {
		out = append(out, IntervalCount{Interval: d, Workers: n})
	}
	c.intervalsMu.Unlock()
	slices.SortFunc(out, func(a, b IntervalCount) int { return cmp.Compare(a.Interval, b.Interval) })
	return out
}

// IntervalCount is how many workers report at one interval.
type IntervalCount struct {
	Interval time.Duration
	Workers  int64
}

// Intervals is the distribution of the workers' reporting intervals: each
// interval ("550ms", "30s") with its count of workers.
type Intervals []IntervalCount

// Map returns the distribution keyed by interval ("1s": 95).
func (is Intervals) Map() map[string]int64 {
	if len(is) == 0 {
		return nil
	}
	m := make(map[string]int64, len(is))
	for _, i := range is {
		m[wire.FormatInterval(i.Interval)] = i.Workers
	}
	return m
}

// MarshalJSON writes the distribution as Map does.
func (is Intervals) MarshalJSON() ([]byte, error) { return json.Marshal(is.Map()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (is *Intervals) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*is = (*is)[:0]
	for k, n := range m {
		d, err := time.ParseDuration(k)
		if err != nil {
			return fmt.Errorf("interval %q: %w", k, err)
		}
		*is = append(*is, IntervalCount{Interval: d, Workers: n})
	}
	slices.SortFunc(*is, func(a, b IntervalCount) int { return cmp.Compare(a.Interval, b.Interval) })
	return nil
}

// String is "550ms:95 30s:80", shortest interval first.
func (is Intervals) String() string {
	var b []byte
	for k, i := range is {
		if k > 0 {
			b = append(b, ' ')
		}
		b = append(b, wire.FormatInterval(i.Interval)...)
		b = append(b, ':')
		b = strconv.AppendInt(b, i.Workers, 10)
	}
	return string(b)
}

func (c *counters) fail(err error) {
	s := err.Error()
	c.lastError.Store(&s)
}

// Stats is a snapshot of a run's counters.
type Stats struct {
	Workers          int64 `json:"workers"`
	WorkersConnected int64 `json:"workersConnected"`
	Sent             int64 `json:"sent"`
	Errors           int64 `json:"errors"`
	Reconnects       int64 `json:"reconnects"`
	// Messages are the dispatch messages workers received, Acks and Reads
	// what they answered, Advice the sampling advice they got (BadAdvice of
	// it unusable).
	Messages  int64 `json:"messages,omitempty"`
	Acks      int64 `json:"acks,omitempty"`
	Reads     int64 `json:"reads,omitempty"`
	Advice    int64 `json:"advice,omitempty"`
	BadAdvice int64 `json:"badAdvice,omitempty"`
	// Intervals is how many workers report at each interval now.
	Intervals         Intervals   `json:"intervals,omitempty"`
	Managers          int64       `json:"managers,omitempty"`
	ManagersConnected int64       `json:"managersConnected,omitempty"`
	Received          int64       `json:"received,omitempty"`
	Duplicates        int64       `json:"duplicates,omitempty"`
	Foreign           int64       `json:"foreign,omitempty"`
	ManagerErrors     int64       `json:"managerErrors,omitempty"`
	ManagerReconnects int64       `json:"managerReconnects,omitempty"`
	Alerts            AlertCounts `json:"alerts,omitzero"`
	LastError         string      `json:"lastError,omitempty"`
}

// AlertCounts counts alert events (geofence enter, exit and dwell; other
// kinds, such as proximity rules', together), each manager counting those it
// received.
type AlertCounts struct {
	Total int64 `json:"total"`
	Enter int64 `json:"enter"`
	Exit  int64 `json:"exit"`
	Dwell int64 `json:"dwell"`
	Other int64 `json:"other"`
}

func (a AlertCounts) minus(b AlertCounts) AlertCounts {
	return AlertCounts{Total: a.Total - b.Total, Enter: a.Enter - b.Enter, Exit: a.Exit - b.Exit, Dwell: a.Dwell - b.Dwell, Other: a.Other - b.Other}
}

// Kinds of alert counted apart, as indexes of counters.alerts.
const (
	alertEnter = iota
	alertExit
	alertDwell
	alertOther
	alertKinds
)

// alertKind returns the counter of an alert record (canonical JSON,
// geofence.Event.AppendJSON) by its "kind".
func alertKind(rec []byte) int {
	const key = `"kind":"`
	i := bytes.Index(rec, []byte(key))
	if i < 0 {
		return alertOther
	}
	rest := rec[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return alertOther
	}
	switch string(rest[:end]) {
	case "enter":
		return alertEnter
	case "exit":
		return alertExit
	case "dwell":
		return alertDwell
	}
	return alertOther
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Workers:           c.workers.Load(),
		WorkersConnected:  c.workersConnected.Load(),
		Sent:              c.sent.Load(),
		Errors:            c.errors.Load(),
		Reconnects:        c.reconnects.Load(),
		Messages:          c.messages.Load(),
		Acks:              c.acks.Load(),
		Reads:             c.reads.Load(),
		Advice:            c.advice.Load(),
		BadAdvice:         c.badAdvice.Load(),
		Intervals:         c.intervalCounts(),
		Managers:          c.managers.Load(),
		ManagersConnected: c.managersConnected.Load(),
		Received:          c.received.Load(),
		Duplicates:        c.duplicates.Load(),
		Foreign:           c.foreign.Load(),
		ManagerErrors:     c.managerErrors.Load(),
		ManagerReconnects: c.managerReconnects.Load(),
	}
	a := &s.Alerts
	a.Enter, a.Exit, a.Dwell, a.Other = c.alerts[alertEnter].Load(), c.alerts[alertExit].Load(), c.alerts[alertDwell].Load(), c.alerts[alertOther].Load()
	a.Total = a.Enter + a.Exit + a.Dwell + a.Other
	if p := c.lastError.Load(); p != nil {
		s.LastError = *p
	}
	return s
}
