package broadcasttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// resumeLimit is the limit the resume tests pass to Since.
const resumeLimit = 10_000

// Since calls b.Since, failing the test on error.
func Since(t testing.TB, b tracking.Broadcaster, team string, after tracking.Offset) ([]tracking.Message, tracking.Offset) {
	t.Helper()
	msgs, head, err := b.Since(t.Context(), team, after, resumeLimit)
	if err != nil {
		t.Fatalf("Since(%s, %v): %v", team, after, err)
	}
	return msgs, head
}

// CheckOffsets checks that msgs carry offsets that grow in delivery order.
func CheckOffsets(msgs []tracking.Message) error {
	for i, m := range msgs {
		if m.Offset.IsZero() {
			return fmt.Errorf("position %d (%s) has no offset", i, m.JSON)
		}
		if i > 0 && !m.Offset.After(msgs[i-1].Offset) {
			return fmt.Errorf("offset %v of position %d does not come after %v", m.Offset, i, msgs[i-1].Offset)
		}
	}
	return nil
}

// Delivered positions carry growing offsets; Since from any of them returns
// exactly the positions delivered after it, on every replica, with the same
// offsets and bytes.
func (s *suite) resumeOffsets(t *testing.T) {
	r := s.replicas(t, 3)
	const team = "team_resume"
	_, head0 := Since(t, r[1], team, tracking.Offset{})
	if head0.IsZero() {
		t.Fatal("Since with a zero offset returned a zero head: it must name the current epoch")
	}
	live, _ := Subscribe(t, t.Context(), r[1], team)
	const n = 30
	for i := 1; i <= n; i++ {
		MustPublish(t, r[i%2*2], Msg(team, "w1", i), Msg("team_resume_other", "w1", i))
	}
	if !live.WaitCount(s.f.Timeout, n) {
		t.Fatalf("got %d of %d live positions", len(live.Messages()), n)
	}
	got := live.Messages()
	if err := CheckOffsets(got); err != nil {
		t.Fatal("live:", err)
	}
	all, head := Since(t, r[0], team, head0)
	if want := got[n-1].Offset; head != want {
		t.Fatalf("head = %v, want the last delivered offset %v", head, want)
	}
	if err := sameMessages(all, got); err != nil {
		t.Fatalf("Since(head before publishing): %v", err)
	}
	for _, k := range []int{0, 9, n - 2, n - 1} {
		for i, b := range r {
			rest, _ := Since(t, b, team, got[k].Offset)
			if err := sameMessages(rest, got[k+1:]); err != nil {
				t.Fatalf("replica %d, Since(offset of position %d): %v", i, k+1, err)
			}
		}
	}
}

func sameMessages(got, want []tracking.Message) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d positions %v, want %d %v", len(got), Seqs(got), len(want), Seqs(want))
	}
	for i := range got {
		if got[i].Offset != want[i].Offset || got[i].Kind != want[i].Kind || string(got[i].JSON) != string(want[i].JSON) ||
			got[i].Worker != want[i].Worker || got[i].Time != want[i].Time || got[i].Received != want[i].Received {
			return fmt.Errorf("position %d = %v %s, want %v %s", i, got[i].Offset, got[i].JSON, want[i].Offset, want[i].JSON)
		}
	}
	return nil
}

// An offset the broker cannot resume from gets ErrGap: of another epoch,
// beyond the head, or with more positions after it than the limit.
func (s *suite) resumeGap(t *testing.T) {
	b := s.replicas(t, 1)[0]
	const team = "team_gap"
	_, head0 := Since(t, b, team, tracking.Offset{})
	for i := 1; i <= 5; i++ {
		MustPublish(t, b, Msg(team, "w1", i))
	}
	var head tracking.Offset
	deadline := time.Now().Add(s.f.Timeout)
	for {
		msgs, h := Since(t, b, team, head0)
		if len(msgs) == 5 {
			head = h
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Since returned %d of 5 published positions", len(msgs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cases := map[string]tracking.Offset{
		"another epoch":   {Epoch: head.Epoch ^ 0x5a5a, Seq: head.Seq, Index: head.Index},
		"beyond the head": {Epoch: head.Epoch, Seq: head.Seq + 1_000_000},
	}
	for name, off := range cases {
		if _, _, err := b.Since(t.Context(), team, off, resumeLimit); !errors.Is(err, tracking.ErrGap) {
			t.Errorf("Since(%s %v) error = %v, want ErrGap", name, off, err)
		}
	}
	if _, _, err := b.Since(t.Context(), team, head0, 4); !errors.Is(err, tracking.ErrGap) {
		t.Errorf("Since with 5 positions after it and limit 4: error = %v, want ErrGap", err)
	}
	if msgs, _, err := b.Since(t.Context(), team, head0, 5); err != nil || len(msgs) != 5 {
		t.Errorf("Since with 5 positions after it and limit 5 = %d positions, %v; want 5", len(msgs), err)
	}
}

// Positions older than the resume window are no longer retained: resuming
// from before them gets ErrGap, resuming from after them does not.
func (s *suite) resumeWindow(t *testing.T) {
	if s.f.Windowed == nil {
		t.Skip("the backend's window cannot be shortened for a test")
	}
	b := Replicas(t, s.f.Windowed, 1)[0]
	const team = "team_window"
	_, head0 := Since(t, b, team, tracking.Offset{})
	MustPublish(t, b, Msg(team, "w1", 1))
	time.Sleep(s.f.ResumeWindow + s.f.ResumeWindow/2) // the window is time itself
	MustPublish(t, b, Msg(team, "w1", 2))
	var msgs []tracking.Message
	var err error
	deadline := time.Now().Add(s.f.Timeout)
	for {
		msgs, _, err = b.Since(t.Context(), team, head0, resumeLimit)
		if errors.Is(err, tracking.ErrGap) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Since(before a position older than the window) = %v, %v; want ErrGap", Seqs(msgs), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that subscribes, then asks Since for what it missed, and drops
// by offset what it receives twice, has every position exactly once, while
// positions keep being published from two replicas.
func (s *suite) resumeWithoutGap(t *testing.T) {
	r := s.replicas(t, 3)
	const team = "team_nogap"
	const before, total = 40, 400
	_, head0 := Since(t, r[2], team, tracking.Offset{})
	for i := 1; i <= before; i++ {
		MustPublish(t, r[i%2], Msg(team, "w1", i))
	}
	var early []tracking.Message
	deadline := time.Now().Add(s.f.Timeout)
	for len(early) < before {
		early, _ = Since(t, r[2], team, head0)
		if time.Now().After(deadline) {
			t.Fatalf("Since returned %d of %d published positions", len(early), before)
		}
	}
	from := early[9].Offset // the client had seen the first 10

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		var err error
		for i := before + 1; i <= total && err == nil; i++ {
			err = Publish(r[i%2], Msg(team, "w1", i))
		}
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond) // let publishing be under way
	live, _ := Subscribe(t, ctx, r[2], team)
	missed, _ := Since(t, r[2], team, from)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, m := range early[:10] {
		seen[seqOf(m)] = true
	}
	want := make([]int, 0, total-10)
	for i := 1; i <= total; i++ {
		if !seen[i] {
			want = append(want, i)
		}
	}
	var merged []tracking.Message
	if !live.WaitFor(s.f.Timeout, func(ms []tracking.Message) bool {
		merged = Resume(missed, ms)
		return len(merged) >= len(want)
	}) {
		t.Fatalf("resumed stream has %d of %d positions", len(merged), len(want))
	}
	// Two replicas publish: the order between them is the broker's, the
	// offsets say it; each position must be there once.
	if err := CheckOffsets(merged); err != nil {
		t.Fatal(err)
	}
	got := Seqs(merged)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("resumed stream = %v, want every position after the first 10 seen, once each", got)
	}
}

// Resume joins what Since returned with what a subscription delivered,
// dropping the deliveries Since already had (by offset).
func Resume(missed, live []tracking.Message) []tracking.Message {
	out := slices.Clone(missed)
	for _, m := range live {
		if len(out) == 0 || m.Offset.After(out[len(out)-1].Offset) {
			out = append(out, m)
		}
	}
	return out
}

func seqOf(m tracking.Message) int {
	_, n := Seq(m)
	return n
}
