package sqlitehistory_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/history/historytest"
	"github.com/teamtrack/tracking-core/history/sqlitehistory"
)

func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Store {
		s, err := sqlitehistory.Open(context.Background(), sqlitehistory.Config{Path: filepath.Join(t.TempDir(), "history.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
