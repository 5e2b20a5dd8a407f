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
	setup := func(window time.Duration) broadcasttest.Setup {
		return func(t *testing.T) func() tracking.Broadcaster {
			backend := memory.NewBackend()
			return func() tracking.Broadcaster { return memory.New(backend, memory.Config{ResumeWindow: window}) }
		}
	}
	const window = time.Second
	broadcasttest.Run(t, broadcasttest.Features{Windowed: setup(window), ResumeWindow: window}, setup(0))
}
