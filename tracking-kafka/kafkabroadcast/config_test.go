package kafkabroadcast_test

import (
	"context"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

// MinInsyncReplicas follows the replication factor unless set, and may not
// exceed it.
func TestMinInsyncReplicas(t *testing.T) {
	for rf, want := range map[int16]int16{0: 1, 1: 1, 2: 1, 3: 2, 5: 4} {
		if got := (kafkabroadcast.Config{ReplicationFactor: rf}).WithDefaults().MinInsyncReplicas; got != want {
			t.Errorf("ReplicationFactor %d: MinInsyncReplicas %d, want %d", rf, got, want)
		}
	}
	if got := (kafkabroadcast.Config{ReplicationFactor: 3, MinInsyncReplicas: 3}).WithDefaults().MinInsyncReplicas; got != 3 {
		t.Errorf("set MinInsyncReplicas 3 became %d", got)
	}
	// Refused before any connection: no broker is needed.
	for _, c := range []kafkabroadcast.Config{
		{ReplicationFactor: 3, MinInsyncReplicas: 4},
		{ReplicationFactor: 1, MinInsyncReplicas: -1},
	} {
		c.Brokers = []string{"127.0.0.1:1"}
		_, err := kafkabroadcast.New(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), "MinInsyncReplicas") {
			t.Errorf("RF %d, MinInsyncReplicas %d: err %v, want one naming MinInsyncReplicas", c.ReplicationFactor, c.MinInsyncReplicas, err)
		}
	}
}
