package simulator

import (
	"strings"
	"testing"
	"time"
)

// deliverAll hands the ledger each sequence number in order and counts the
// duplicates it reported.
func deliverAll(p *pairLedger, seqs ...uint64) (dups int) {
	for i, s := range seqs {
		if !p.deliver(s, int64(i+1)) {
			dups++
		}
	}
	return dups
}

func TestLedgerEverythingDelivered(t *testing.T) {
	var p pairLedger
	p.start(0)
	deliverAll(&p, 1, 2, 3, 4, 5)
	got := p.finish(5, nil, nil, 0)
	if want := (pairLoss{Expected: 5, Delivered: 5}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// The window: what was attempted before the stream opened is not owed,
// even when it arrives (a position in flight, the snapshot); what was
// attempted up to the end is, arrived or not.
func TestLedgerWindowEdges(t *testing.T) {
	var p pairLedger
	p.start(10)                          // positions 1..10 were attempted before the stream opened
	deliverAll(&p, 9, 10, 11, 12)        // 9 (the snapshot) and 10 (in flight) are early
	if d := deliverAll(&p, 10); d != 1 { // the snapshot again after a reconnect
		t.Fatalf("a second copy of an early position: %d duplicates", d)
	}
	got := p.finish(14, nil, nil, 0) // 13 and 14 were sent and never came
	want := pairLoss{Expected: 4, Delivered: 2, Tail: 2, Duplicates: 1}
	if got != want || p.early != 2 {
		t.Fatalf("got %+v (early %d), want %+v", got, p.early, want)
	}
	if got.Lost() != 2 {
		t.Fatalf("lost %d", got.Lost())
	}
	// Nothing sent after the stream opened: nothing owed.
	var q pairLedger
	q.start(7)
	deliverAll(&q, 7)
	if got := q.finish(7, nil, nil, 0); got.Expected != 0 || got.Lost() != 0 {
		t.Fatalf("nothing owed: %+v", got)
	}
	// A stream that never opened owes nothing either (the report counts it apart).
	var never pairLedger
	if got := never.finish(100, nil, nil, 0); got.Expected != 0 {
		t.Fatalf("never started: %+v", got)
	}
}

func TestLedgerSkippedAndDuplicates(t *testing.T) {
	var p pairLedger
	p.start(0)
	dups := deliverAll(&p, 1, 2, 5, 5, 6, 2, 9)
	got := p.finish(10, nil, nil, 0)
	// Missing 3, 4, 7, 8 within the stream, 10 at the tail.
	want := pairLoss{Expected: 10, Delivered: 5, Skipped: 4, Tail: 1, Duplicates: 2}
	if got != want || dups != 2 {
		t.Fatalf("got %+v (%d duplicates reported), want %+v", got, dups, want)
	}
	if got.Expected != got.Delivered+got.Lost() {
		t.Fatalf("expected %d != delivered %d + lost %d", got.Expected, got.Delivered, got.Lost())
	}
}

// A position that arrives after a newer one fills its gap: delivered and
// reordered, not a duplicate; its second copy is.
func TestLedgerReorder(t *testing.T) {
	var p pairLedger
	p.start(0)
	if d := deliverAll(&p, 1, 6, 3, 2, 5, 3); d != 1 {
		t.Fatalf("%d duplicates, want 1 (the second 3)", d)
	}
	got := p.finish(6, nil, nil, 0)
	want := pairLoss{Expected: 6, Delivered: 5, Skipped: 1, Reordered: 3, Duplicates: 1}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if len(p.gaps) != 1 || p.gaps[0] != (seqGap{lo: 4, hi: 4}) {
		t.Fatalf("gaps %+v, want only 4", p.gaps)
	}
}

// A gap that opens with the first position after the stream reopened is a
// reconnect's; one within a stream is a skip.
func TestLedgerReconnectGap(t *testing.T) {
	var p pairLedger
	p.start(0)
	deliverAll(&p, 1, 2)
	p.reconnect()
	deliverAll(&p, 2) // the snapshot repeats 2: still reconnecting
	deliverAll(&p, 6, 7, 9)
	got := p.finish(9, nil, nil, 0)
	want := pairLoss{Expected: 9, Delivered: 5, ReconnectGap: 3, Skipped: 1, Duplicates: 1}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// A failed write or a record the service refused is missing wherever it
// falls, and is counted as what it was.
func TestLedgerSendFailedAndRejected(t *testing.T) {
	var p pairLedger
	p.start(2)
	deliverAll(&p, 3, 5, 6, 9, 12)
	p.reconnect()
	deliverAll(&p, 15)
	// 1 was before the window; 4 and 13 failed, 7, 14 and 16 were refused;
	// 8, 10, 11 and 17 went missing with no known reason.
	got := p.finish(17, []uint64{1, 4, 13}, []uint64{7, 14, 16}, 0)
	want := pairLoss{Expected: 15, Delivered: 6, SendFailed: 2, Rejected: 3, Skipped: 3, Tail: 1}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// Refusals that named no record are taken from the unexplained skips of the
// worker, then its tail, never beyond them.
func TestLedgerUnnamedRejections(t *testing.T) {
	var p pairLedger
	p.start(0)
	deliverAll(&p, 1, 3, 6)
	for _, c := range []struct {
		unnamed int64
		want    pairLoss
	}{
		{2, pairLoss{Expected: 8, Delivered: 3, Rejected: 2, Skipped: 1, Tail: 2}},
		{4, pairLoss{Expected: 8, Delivered: 3, Rejected: 4, Tail: 1}},
		{9, pairLoss{Expected: 8, Delivered: 3, Rejected: 5}},
	} {
		if got := p.finish(8, nil, nil, c.unnamed); got != c.want {
			t.Errorf("%d unnamed: got %+v, want %+v", c.unnamed, got, c.want)
		}
	}
}

func TestLedgerLastReceipt(t *testing.T) {
	var p pairLedger
	p.start(3)
	p.deliver(3, 100) // early: not a receipt of an owed position
	p.deliver(4, 200)
	p.deliver(5, 150)
	if p.lastAt != 200 {
		t.Fatalf("lastAt %d", p.lastAt)
	}
}

func TestAccountLoss(t *testing.T) {
	full := pairLoss{Expected: 10, Delivered: 10}
	t.Run("none lost", func(t *testing.T) {
		r := accountLoss([]managerAccount{
			{name: "t0-manager-0", team: "t0", connected: true, pairs: []pairLoss{full, full}},
			{name: "t0-manager-1", team: "t0", connected: true, pairs: []pairLoss{full, full}},
		}, nil, time.Second)
		if !r.NoPositionLost || r.Expected != 40 || r.Delivered != 40 || r.Lost != 0 || len(r.Worst) != 0 {
			t.Fatalf("%+v", r)
		}
		if len(r.Causes) != 1 || !strings.Contains(r.Causes[0], "no position lost") {
			t.Fatalf("causes %q", r.Causes)
		}
	})
	t.Run("a manager that never connected", func(t *testing.T) {
		r := accountLoss([]managerAccount{
			{name: "a", connected: true, pairs: []pairLoss{full}},
			{name: "b", connected: false, pairs: []pairLoss{{}}},
		}, nil, time.Second)
		if r.NoPositionLost || r.NeverConnected != 1 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("conflation", func(t *testing.T) {
		lossy := pairLoss{Expected: 10, Delivered: 7, Skipped: 2, Tail: 1}
		reps := []ReplicaScrape{{URL: "a", Counters: ServerCounters{Accepted: 100}}, {URL: "b", Counters: ServerCounters{Conflated: 2}}}
		r := accountLoss([]managerAccount{
			{name: "t0-manager-0", team: "t0", connected: true, pairs: []pairLoss{full, lossy}},
			{name: "t0-manager-1", team: "t0", connected: true, pairs: []pairLoss{full, full}},
		}, reps, 1500*time.Millisecond)
		if r.NoPositionLost || r.Lost != 3 || r.Skipped != 2 || r.Tail != 1 || r.ManagersWithLoss != 1 {
			t.Fatalf("%+v", r)
		}
		if len(r.Worst) != 1 || r.Worst[0].Manager != "t0-manager-0" || r.Worst[0].Lost != 3 || r.Worst[0].Workers != 1 {
			t.Fatalf("worst %+v", r.Worst)
		}
		if r.Server == nil || r.Server.Conflated != 2 || r.Server.Accepted != 100 {
			t.Fatalf("server %+v", r.Server)
		}
		all := strings.Join(r.Causes, "\n")
		if !strings.Contains(all, "conflation") || !strings.Contains(all, "conflated 2") || !strings.Contains(all, "1 not delivered") {
			t.Fatalf("causes %q", r.Causes)
		}
	})
	t.Run("unexplained skips", func(t *testing.T) {
		r := accountLoss([]managerAccount{{name: "m", connected: true, pairs: []pairLoss{{Expected: 5, Delivered: 4, Skipped: 1}}}},
			[]ReplicaScrape{{URL: "a"}}, time.Second)
		if !strings.Contains(strings.Join(r.Causes, "\n"), "no server counter accounts") {
			t.Fatalf("causes %q", r.Causes)
		}
	})
}
