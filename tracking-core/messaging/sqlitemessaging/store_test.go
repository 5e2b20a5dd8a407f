package sqlitemessaging_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/messaging/messagingtest"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
)

func TestConformance(t *testing.T) {
	messagingtest.Run(t, func(t *testing.T) messaging.Store {
		s, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "messages.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two processes (here two Stores) on one file: each mark is reported once.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messages.db")
	ctx := context.Background()
	var stores [2]*sqlitemessaging.Store
	for i := range stores {
		s, err := sqlitemessaging.Open(ctx, sqlitemessaging.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	m := messagingtest.Message("team_one", "m", messagingtest.Base, time.Hour, "w-1")
	if _, err := stores[0].Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	results := make(chan bool, 2)
	for _, s := range stores {
		go func() {
			ok, err := s.Mark(ctx, "team_one", "m", "w-1", messaging.StateAcked, messagingtest.Base)
			if err != nil {
				t.Error(err)
			}
			results <- ok
		}()
	}
	if a, b := <-results, <-results; a == b {
		t.Fatalf("two stores marking one recipient: changed %v and %v, want one true", a, b)
	}
}
