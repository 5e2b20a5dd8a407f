package simulator

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LossReport accounts for every position of a load run, per manager: the
// positions owed to it (every position a worker of its team attempted
// after the manager's stream first opened, until the workers stopped:
// pairLedger) against those it received (distinct, whatever the order), and
// where the missing ones went.
type LossReport struct {
	// NoPositionLost holds when every manager opened its stream and got
	// every position owed to it.
	NoPositionLost bool `json:"noPositionLost"`
	// Expected = Delivered + Lost, summed over managers.
	Expected  int64 `json:"expected"`
	Delivered int64 `json:"delivered"`
	Lost      int64 `json:"lost"`
	// Lost by where it went missing (pairLoss): SendFailed (the worker's
	// write failed), Rejected (the service answered the worker with an
	// error: rate limit, overload), Skipped (within one stream, a newer position of the
	// worker came: conflation or loss inside the service), ReconnectGap
	// (across a reopening of the manager's stream), Tail (after the newest
	// delivered: not there when the grace after the last send ran out).
	SendFailed   int64 `json:"sendFailed"`
	Rejected     int64 `json:"rejected"`
	Skipped      int64 `json:"skipped"`
	ReconnectGap int64 `json:"reconnectGap"`
	Tail         int64 `json:"tail"`
	// Duplicates were received again (not counted twice); Reordered arrived
	// after a newer position of the same worker (counted as delivered).
	Duplicates int64 `json:"duplicates"`
	Reordered  int64 `json:"reordered"`
	// Managers accounted for; ManagersWithLoss of them lost any;
	// NeverConnected never opened a stream (owed nothing, so not accounted:
	// a run with any is not lossless).
	Managers         int `json:"managers"`
	ManagersWithLoss int `json:"managersWithLoss"`
	NeverConnected   int `json:"neverConnected"`
	// GraceSeconds is how long the run waited for the managers after the
	// last send (up to -drain; less once all had caught up).
	GraceSeconds float64 `json:"graceSeconds"`
	// Worst are the managers with loss, most lost first (at most 20).
	Worst []ManagerLoss `json:"worst,omitempty"`
	// Server is the difference of the replicas' counters (ServerCounters)
	// over the accounting (before the managers connect to after they stop),
	// summed over -metrics-url; Replicas per URL. Absent without
	// -metrics-url.
	Server   *ServerCounters `json:"server,omitempty"`
	Replicas []ReplicaScrape `json:"replicas,omitempty"`
	Causes   []string        `json:"causes"`
}

// ManagerLoss is one manager's account.
type ManagerLoss struct {
	Manager      string `json:"manager"` // its subject, <team>-manager-<n>
	Team         string `json:"team"`
	Expected     int64  `json:"expected"`
	Delivered    int64  `json:"delivered"`
	Lost         int64  `json:"lost"`
	SendFailed   int64  `json:"sendFailed"`
	Rejected     int64  `json:"rejected"`
	Skipped      int64  `json:"skipped"`
	ReconnectGap int64  `json:"reconnectGap"`
	Tail         int64  `json:"tail"`
	Reconnects   int64  `json:"reconnects"`
	// Workers is how many of the team's workers it lost positions of.
	Workers int `json:"workers"`
}

// ReplicaScrape is one -metrics-url's counters over the accounting.
type ReplicaScrape struct {
	URL      string         `json:"url"`
	Counters ServerCounters `json:"counters"`
	Error    string         `json:"error,omitempty"`
	latency  latencyBuckets // tracking_delivery_latency_seconds as scraped
}

// maxWorst bounds LossReport.Worst.
const maxWorst = 20

// managerAccount is what a manager's ledgers add up to.
type managerAccount struct {
	name, team string
	connected  bool
	reconnects int64
	pairs      []pairLoss // per worker of the team
}

// accountLoss adds up the managers' accounts; server is nil without
// metrics URLs.
func accountLoss(accounts []managerAccount, replicas []ReplicaScrape, grace time.Duration) *LossReport {
	r := &LossReport{Managers: len(accounts), GraceSeconds: round(grace.Seconds(), 1000), Causes: []string{}}
	var total pairLoss
	var reconnects int64
	for _, a := range accounts {
		if !a.connected {
			r.NeverConnected++
			continue
		}
		var sum pairLoss
		ml := ManagerLoss{Manager: a.name, Team: a.team, Reconnects: a.reconnects}
		for _, p := range a.pairs {
			sum.add(p)
			if p.Lost() > 0 {
				ml.Workers++
			}
		}
		total.add(sum)
		reconnects += a.reconnects
		if sum.Lost() > 0 {
			r.ManagersWithLoss++
			ml.Expected, ml.Delivered, ml.Lost = sum.Expected, sum.Delivered, sum.Lost()
			ml.SendFailed, ml.Rejected, ml.Skipped, ml.ReconnectGap, ml.Tail = sum.SendFailed, sum.Rejected, sum.Skipped, sum.ReconnectGap, sum.Tail
			r.Worst = append(r.Worst, ml)
		}
	}
	slices.SortStableFunc(r.Worst, func(a, b ManagerLoss) int { return cmp.Compare(b.Lost, a.Lost) })
	if len(r.Worst) > maxWorst {
		r.Worst = r.Worst[:maxWorst]
	}
	r.Expected, r.Delivered, r.Lost = total.Expected, total.Delivered, total.Lost()
	r.SendFailed, r.Rejected, r.Skipped, r.ReconnectGap, r.Tail = total.SendFailed, total.Rejected, total.Skipped, total.ReconnectGap, total.Tail
	r.Duplicates, r.Reordered = total.Duplicates, total.Reordered
	r.NoPositionLost = r.NeverConnected == 0 && r.ManagersWithLoss == 0 && r.Expected == r.Delivered
	if len(replicas) > 0 {
		r.Replicas = replicas
		var s ServerCounters
		for _, rep := range replicas {
			s.add(rep.Counters)
		}
		r.Server = &s
	}
	r.Causes = r.causes(reconnects)
	return r
}

// causes says, in words, where the loss happened and which of the
// service's counters account for it.
func (r *LossReport) causes(reconnects int64) []string {
	var out []string
	s := r.Server
	if r.NeverConnected > 0 {
		out = append(out, fmt.Sprintf("%d of %d managers never opened their stream: nothing was owed to them, nothing accounted", r.NeverConnected, r.Managers))
	}
	if r.NoPositionLost {
		return append(out, fmt.Sprintf("no position lost: every manager received every position owed to it (%d)", r.Expected))
	}
	if r.Lost == 0 {
		return out
	}
	unattributed := "no -metrics-url: not attributed"
	if r.SendFailed > 0 {
		out = append(out, fmt.Sprintf("%d never reached the service: the worker's write failed (worker send failures)", r.SendFailed))
	}
	if r.Rejected > 0 {
		line := fmt.Sprintf("%d refused by the service (the worker got an error answer: rate limit, overload, invalid)", r.Rejected)
		if s != nil {
			line += fmt.Sprintf("; the replicas counted %d rejected records", s.Rejected)
		}
		out = append(out, line)
	}
	if r.Skipped > 0 {
		line := fmt.Sprintf("%d skipped within a stream (a newer position of the same worker came): ", r.Skipped)
		var why []string
		if s != nil && s.Conflated > 0 {
			why = append(why, fmt.Sprintf("queue conflation, newest fix wins (the replicas conflated %d)", s.Conflated))
		}
		if s != nil && s.Rejected > r.Rejected {
			why = append(why, fmt.Sprintf("records refused without an answer the simulator could tie to them (%d rejected in all)", s.Rejected))
		}
		if s != nil && s.PublishErrors > 0 {
			why = append(why, fmt.Sprintf("broker publish errors (%d)", s.PublishErrors))
		}
		switch {
		case s == nil:
			line += unattributed
		case len(why) == 0:
			line += "no server counter accounts for them (no conflation, rejection or publish error): lost between the broker and the stream"
		default:
			line += strings.Join(why, "; ")
		}
		out = append(out, line)
	}
	if r.ReconnectGap > 0 {
		line := fmt.Sprintf("%d missing across %d manager stream reopenings: ", r.ReconnectGap, reconnects)
		if s == nil {
			line += unattributed
		} else {
			line += fmt.Sprintf("slow managers dropped %d (%d slow hints), resumes reset to a snapshot %d (resumed %d), lifetime hints %d, shutdown hints %d",
				s.Dropped, s.SlowHints, s.ResumesReset, s.Resumed, s.LifetimeHints, s.ShutdownHints)
		}
		out = append(out, line)
	}
	if r.Tail > 0 {
		line := fmt.Sprintf("%d not delivered when the run ended, %.1fs after the last send (newer than anything the manager got)", r.Tail, r.GraceSeconds)
		if s != nil && s.ShutdownHints > 0 {
			line += fmt.Sprintf("; the replicas sent %d shutdown hints", s.ShutdownHints)
		}
		out = append(out, line)
	}
	return out
}
