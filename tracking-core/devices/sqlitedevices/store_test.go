package sqlitedevices_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/teamtrack/tracking-core/devices"
	"github.com/teamtrack/tracking-core/devices/devicestest"
	"github.com/teamtrack/tracking-core/devices/sqlitedevices"
)

func TestConformance(t *testing.T) {
	devicestest.Run(t, func(t *testing.T) devices.Store {
		s, err := sqlitedevices.Open(context.Background(), sqlitedevices.Config{Path: filepath.Join(t.TempDir(), "devices.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two processes (here two Stores) on one file putting one new id: one
// creates it, the other replaces it.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "devices.db")
	ctx := context.Background()
	var stores [2]*sqlitedevices.Store
	for i := range stores {
		s, err := sqlitedevices.Open(ctx, sqlitedevices.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	for round := range 20 {
		id := "phone-" + string(rune('a'+round))
		var wg sync.WaitGroup
		created := make(chan bool, 2)
		for _, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, c, err := s.Put(ctx, devicestest.Device(id, "team_one", "w-1", devicestest.Base))
				if err != nil {
					t.Error(err)
				}
				created <- c
			}()
		}
		wg.Wait()
		if a, b := <-created, <-created; a == b {
			t.Fatalf("two stores putting %s: created %v and %v, want one true", id, a, b)
		}
	}
	if ds, err := stores[1].List(ctx, "", "", 100); err != nil || len(ds) != 20 {
		t.Fatalf("List: %d devices, %v", len(ds), err)
	}
}

func TestOpenWithoutPath(t *testing.T) {
	if _, err := sqlitedevices.Open(context.Background(), sqlitedevices.Config{}); err == nil {
		t.Fatal("Open without a path succeeded")
	}
}
