package kafkabroadcast_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/broadcasttest"
)

// A replica reads only the partitions of the teams it watches: under the same
// traffic, one watching 1 team consumes fewer records than one watching 100.
func TestIntakeFollowsWatchedTeams(t *testing.T) {
	cfg := testConfig(t)
	publisher := newReplica(t, cfg, nil)
	regOne, regAll := prometheus.NewRegistry(), prometheus.NewRegistry()
	one := newReplica(t, cfg, regOne)
	all := newReplica(t, cfg, regAll)

	teams := make([]string, 100)
	for i := range teams {
		teams[i] = fmt.Sprintf("team_%03d", i)
	}
	ctx := context.Background()
	cOne, _ := broadcasttest.Subscribe(t, ctx, one, teams[0])
	cAll := broadcasttest.NewCollector()
	for _, team := range teams {
		sub, err := all.Subscribe(ctx, team, cAll.Handle)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Unsubscribe)
	}

	const rounds = 5
	for seq := 1; seq <= rounds; seq++ {
		for _, team := range teams {
			broadcasttest.MustPublish(t, publisher, broadcasttest.Msg(team, "w1", seq))
		}
	}
	total := rounds * len(teams)
	if !cAll.WaitCount(20*time.Second, total) || !cOne.WaitCount(20*time.Second, rounds) {
		t.Fatalf("deliveries: watching all %d/%d, watching one %d/%d", len(cAll.Messages()), total, len(cOne.Messages()), rounds)
	}
	consumedAll := waitCounter(t, regAll, "tracking_kafka_consumed_records_total", float64(total))
	consumedOne := waitCounter(t, regOne, "tracking_kafka_consumed_records_total", rounds)
	t.Logf("records consumed: watching 1 team %v, watching %d teams %v", consumedOne, len(teams), consumedAll)
	if consumedOne >= consumedAll/2 {
		t.Fatalf("the replica watching 1 team consumed %v records, the one watching 100 teams %v: intake does not follow the watched teams", consumedOne, consumedAll)
	}
	if got := metricValue(t, regOne, "tracking_kafka_partitions_consumed"); got != 1 {
		t.Fatalf("replica watching 1 team reads %v partitions, want 1", got)
	}
	if got := metricValue(t, regAll, "tracking_kafka_partitions_consumed"); got < 2 {
		t.Fatalf("replica watching 100 teams reads %v partitions", got)
	}
	for _, m := range cOne.Messages() {
		if m.Team != teams[0] {
			t.Fatalf("the replica watching %s got a position of %s", teams[0], m.Team)
		}
	}
}
