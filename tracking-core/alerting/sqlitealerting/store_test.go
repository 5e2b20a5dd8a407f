package sqlitealerting_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/alertingtest"
	"github.com/teamtrack/tracking-core/alerting/sqlitealerting"
)

func TestConformance(t *testing.T) {
	alertingtest.Run(t, func(t *testing.T) alerting.Store {
		s, err := sqlitealerting.Open(context.Background(), sqlitealerting.Config{Path: filepath.Join(t.TempDir(), "alerts.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
