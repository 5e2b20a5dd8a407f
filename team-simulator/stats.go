package simulator

import (
	"bytes"
	"sync/atomic"
)

// counters are the live counters of a run, shared by every worker and
// manager goroutine.
type counters struct {
	workers          atomic.Int64 // workers started
	workersConnected atomic.Int64
	sent             atomic.Int64 // positions written to a connection
	errors           atomic.Int64 // worker-side: failed dials and sends, server error messages, rejected records
	reconnects       atomic.Int64 // worker connections re-established after one ended

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

func (c *counters) fail(err error) {
	s := err.Error()
	c.lastError.Store(&s)
}

// Stats is a snapshot of a run's counters.
type Stats struct {
	Workers           int64       `json:"workers"`
	WorkersConnected  int64       `json:"workersConnected"`
	Sent              int64       `json:"sent"`
	Errors            int64       `json:"errors"`
	Reconnects        int64       `json:"reconnects"`
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
