package simulator

import (
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
	managerReconnects atomic.Int64 // manager streams re-established after one ended

	lastError atomic.Pointer[string]
}

func (c *counters) fail(err error) {
	s := err.Error()
	c.lastError.Store(&s)
}

// Stats is a snapshot of a run's counters.
type Stats struct {
	Workers           int64  `json:"workers"`
	WorkersConnected  int64  `json:"workersConnected"`
	Sent              int64  `json:"sent"`
	Errors            int64  `json:"errors"`
	Reconnects        int64  `json:"reconnects"`
	Managers          int64  `json:"managers,omitempty"`
	ManagersConnected int64  `json:"managersConnected,omitempty"`
	Received          int64  `json:"received,omitempty"`
	Duplicates        int64  `json:"duplicates,omitempty"`
	Foreign           int64  `json:"foreign,omitempty"`
	ManagerErrors     int64  `json:"managerErrors,omitempty"`
	ManagerReconnects int64  `json:"managerReconnects,omitempty"`
	LastError         string `json:"lastError,omitempty"`
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
	if p := c.lastError.Load(); p != nil {
		s.LastError = *p
	}
	return s
}
