package kafkabroadcast

import (
	"testing"

	tracking "github.com/teamtrack/tracking-core"
)

// The state keys older replicas wrote to LastTopic are told apart from the
// positions' and statuses' keys there, workers called "state" or "status"
// included.
func TestIsStateKey(t *testing.T) {
	status := func(worker string) string {
		return lastTopicKey(tracking.Message{Kind: tracking.KindStatus, Team: "t1", Worker: worker, Time: 17})
	}
	position := func(worker string) string {
		return lastTopicKey(tracking.Message{Kind: tracking.KindPosition, Team: "t1", Worker: worker})
	}
	for key, want := range map[string]bool{
		"t1/w1/state":     true,
		"t1/state/state":  true,
		"t1/status/state": true,
		position("w1"):    false,
		position("state"): false,
		status("w1"):      false,
		status("state"):   false,
		"t1":              false,
	} {
		if got := isStateKey([]byte(key)); got != want {
			t.Errorf("isStateKey(%q) = %v, want %v", key, got, want)
		}
	}
}
