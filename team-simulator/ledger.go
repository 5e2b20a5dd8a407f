package simulator

import "slices"

// pairLedger accounts for one (manager, worker) pair of a load run: which of
// the worker's positions the manager was owed and which it got.
//
// The manager is owed every position the worker attempted (sequence number
// assigned, whether the write then succeeded or not) after the manager's
// stream first opened: (from, to], where from is the worker's last attempted
// sequence number when the stream opened (start) and to its last one when
// the workers stopped (finish). A position attempted before the stream was
// open may still arrive (it was in flight); it is neither owed nor counted.
//
// Deliveries are counted once per sequence number (distinct), whatever order
// they come in: a position older than the newest seen counts as delivered
// (and reordered) when it fills a gap, else as a duplicate. What was never
// delivered is sorted by where it went missing in the stream (pairLoss).
//
// A ledger belongs to its manager's goroutine until the run has stopped the
// managers; finish is called after that.
type pairLedger struct {
	from    uint64 // owed positions start after this sequence number
	started bool   // start was called: the manager's stream opened
	highest uint64 // highest sequence number delivered (owed or not)

	delivered int64 // distinct owed positions delivered
	dups      int64 // positions delivered again
	reordered int64 // owed positions delivered after a newer one (counted in delivered)
	early     int64 // positions attempted before the stream opened, delivered anyway (not owed)

	// gaps are the owed sequence numbers below highest never delivered, in
	// order, each with where it went missing.
	gaps []seqGap
	// reconnected is set when the manager's stream reopened and cleared by
	// the next new position: a gap that opens then is a reconnect's.
	reconnected bool
	// lastAt is when the newest owed position was delivered (Unix ns).
	lastAt int64
}

// seqGap is the sequence numbers lo..hi (inclusive) of one worker, missing.
type seqGap struct {
	lo, hi    uint64
	reconnect bool // opened across a reconnect of the manager's stream, not within one stream
}

// start opens the ledger: positions after sequence number from are owed.
// Only the first call counts (a reconnect does not move the start).
func (p *pairLedger) start(from uint64) {
	if p.started {
		return
	}
	p.started, p.from = true, from
}

// base is the sequence number after which a new position opens a gap.
func (p *pairLedger) base() uint64 { return max(p.highest, p.from) }

// reconnect notes that the manager's stream reopened.
func (p *pairLedger) reconnect() { p.reconnected = true }

// deliver takes sequence number seq of the worker, delivered at now (Unix
// ns). It returns false for a duplicate.
func (p *pairLedger) deliver(seq uint64, now int64) bool {
	switch {
	case !p.started || seq <= p.from:
		// Sent before the stream was open: not owed. A second copy is still a duplicate.
		if seq <= p.highest {
			p.dups++
			return false
		}
		p.highest = seq
		p.early++
		return true
	case seq > p.base():
		if b := p.base(); seq > b+1 {
			p.gaps = append(p.gaps, seqGap{lo: b + 1, hi: seq - 1, reconnect: p.reconnected})
		}
		p.highest, p.reconnected = seq, false
	default:
		// Older than the newest: fills a gap, or was seen.
		i, ok := slices.BinarySearchFunc(p.gaps, seq, func(g seqGap, s uint64) int {
			switch {
			case g.hi < s:
				return -1
			case g.lo > s:
				return 1
			}
			return 0
		})
		if !ok {
			p.dups++
			return false
		}
		g := p.gaps[i]
		switch {
		case g.lo == g.hi:
			p.gaps = slices.Delete(p.gaps, i, i+1)
		case seq == g.lo:
			p.gaps[i].lo++
		case seq == g.hi:
			p.gaps[i].hi--
		default:
			p.gaps[i].hi = seq - 1
			p.gaps = slices.Insert(p.gaps, i+1, seqGap{lo: seq + 1, hi: g.hi, reconnect: g.reconnect})
		}
		p.reordered++
	}
	p.delivered++
	p.lastAt = max(p.lastAt, now)
	return true
}

// pairLoss is the outcome of one pair: Expected = Delivered + the four kinds
// of Lost.
type pairLoss struct {
	Expected, Delivered int64
	// SendFailed: the worker's write failed; the service never had them.
	SendFailed int64
	// Rejected: the service answered them with an error (rate limit,
	// overload, invalid): the simulator's own log of the answers.
	Rejected int64
	// Skipped: missing while the same stream delivered a newer position of
	// the worker (the service conflated them, newest fix wins, or lost them
	// between its ingest and the stream).
	Skipped int64
	// ReconnectGap: missing across a reopening of the manager's stream (not
	// resumed, or resumed too late to replay them).
	ReconnectGap int64
	// Tail: newer than the newest delivered; they had not arrived when the
	// run ended (the grace after the last send ran out, or they were lost at
	// shutdown).
	Tail       int64
	Duplicates int64
	Reordered  int64
}

// Lost is every owed position not delivered.
func (l pairLoss) Lost() int64 {
	return l.SendFailed + l.Rejected + l.Skipped + l.ReconnectGap + l.Tail
}

func (l *pairLoss) add(o pairLoss) {
	l.Expected += o.Expected
	l.Delivered += o.Delivered
	l.SendFailed += o.SendFailed
	l.Rejected += o.Rejected
	l.Skipped += o.Skipped
	l.ReconnectGap += o.ReconnectGap
	l.Tail += o.Tail
	l.Duplicates += o.Duplicates
	l.Reordered += o.Reordered
}

// finish closes the ledger: to is the worker's last attempted sequence
// number, failed (ascending) those of its attempts whose write failed,
// rejected (ascending) those the service refused, and unnamed how many more
// it refused with an answer that named no record (a rate limit): those are
// taken from the skipped positions, then the tail, up to their number. A
// ledger never started (the stream never opened) owes nothing.
func (p *pairLedger) finish(to uint64, failed, rejected []uint64, unnamed int64) pairLoss {
	out := pairLoss{Duplicates: p.dups, Reordered: p.reordered}
	if !p.started || to <= p.from {
		return out
	}
	out.Expected = int64(to - p.from)
	out.Delivered = p.delivered
	base := p.base()
	if to > base {
		out.Tail = int64(to - base)
	}
	for _, g := range p.gaps {
		if g.lo > to {
			break
		}
		n := int64(min(g.hi, to) - g.lo + 1)
		if g.reconnect {
			out.ReconnectGap += n
		} else {
			out.Skipped += n
		}
	}
	// A position the service never took is missing wherever it fell:
	// count it as what it was.
	move := func(seqs []uint64, into *int64) {
		for _, f := range seqs {
			if f <= p.from || f > to {
				continue
			}
			if f > base {
				out.Tail--
				*into++
				continue
			}
			if i := p.gapOf(f); i >= 0 {
				if p.gaps[i].reconnect {
					out.ReconnectGap--
				} else {
					out.Skipped--
				}
				*into++
			}
		}
	}
	move(failed, &out.SendFailed)
	move(rejected, &out.Rejected)
	n := min(unnamed, out.Skipped)
	out.Skipped -= n
	m := min(unnamed-n, out.Tail)
	out.Tail -= m
	out.Rejected += n + m
	return out
}

// gapOf returns the index of the gap holding seq, or -1.
func (p *pairLedger) gapOf(seq uint64) int {
	for i, g := range p.gaps {
		if g.lo <= seq && seq <= g.hi {
			return i
		}
	}
	return -1
}
