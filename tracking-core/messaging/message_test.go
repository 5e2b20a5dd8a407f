package messaging_test

import (
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/messaging"
)

func TestRanksRoundTrip(t *testing.T) {
	for r := range 5 {
		if got := messaging.StateOfRank(r).Rank(); got != r {
			t.Fatalf("rank %d comes back as %d", r, got)
		}
	}
	if messaging.State("bogus").Rank() != -1 || messaging.StateOfRank(5) != "" {
		t.Fatal("unknown states and ranks are not refused")
	}
}

func TestPrepareNormalises(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793123, time.FixedZone("CET", 3600))
	m, err := messaging.Prepare(messaging.Message{Team: "team_one", Sender: "manager-1", Body: []byte(` {"a":1}`),
		CreatedAt: at, ExpiresAt: at.Add(time.Minute),
		Recipients: []messaging.Recipient{{Worker: "w-1", State: messaging.StateAcked, AckedAt: at}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ID) != 36 || m.CreatedAt.Location() != time.UTC || m.CreatedAt.Nanosecond()%1000 != 0 ||
		m.ExpiresAt.Sub(m.CreatedAt) != time.Minute {
		t.Fatalf("prepared %+v", m)
	}
	if r := m.Recipients[0]; r.State != messaging.StateSent || !r.AckedAt.IsZero() {
		t.Fatalf("a prepared recipient is %+v, want sent with no times", r)
	}
}
