package broadcasttest

import (
	"bytes"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// A worker's state saved on one replica is loaded on another (the worker
// moved), the latest save wins, and teams and workers are apart.
func (s *suite) workerState(t *testing.T) {
	r := s.replicas(t, 2)
	stores := make([]tracking.StateStore, len(r))
	for i, b := range r {
		ss, ok := b.(tracking.StateStore)
		if !ok {
			t.Fatalf("replica %d (%T) is not a tracking.StateStore", i, b)
		}
		stores[i] = ss
	}
	ctx := t.Context()
	if got, err := stores[1].LoadState(ctx, "team_state", "w1"); err != nil || got != nil {
		t.Fatalf("state never saved = %q, %v; want nil", got, err)
	}
	for i, v := range []string{"first", "second\x00binary\xff"} {
		if err := stores[0].SaveState(ctx, "team_state", "w1", []byte(v)); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	if err := stores[0].SaveState(ctx, "team_state_other", "w1", []byte("other team")); err != nil {
		t.Fatal(err)
	}
	if err := stores[0].SaveState(ctx, "team_state", "w2", []byte("other worker")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	deadline := time.Now().Add(s.f.Timeout)
	for {
		var err error
		if got, err = stores[1].LoadState(ctx, "team_state", "w1"); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, []byte("second\x00binary\xff")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling until the save lands
	}
	if string(got) != "second\x00binary\xff" {
		t.Fatalf("another replica loaded %q, want the latest save", got)
	}
	if err := stores[0].SaveState(ctx, "team_state", "w3", make([]byte, tracking.MaxStateSize+1)); err == nil {
		t.Fatal("a state over MaxStateSize was saved")
	}
}
