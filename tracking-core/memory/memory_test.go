package memory_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	const window = time.Second
	broadcasttest.Run(t, broadcasttest.Features{ResumeWindow: window}, func(t *testing.T) func() tracking.Broadcaster {
		backend := memory.NewBackend()
		return func() tracking.Broadcaster { return memory.New(backend, memory.Config{ResumeWindow: window}) }
	})
}
