package memory_test

import (
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
)

func TestScenarios(t *testing.T) {
	servicetest.Run(t, servicetest.Features{}, func(t *testing.T) func() tracking.Broadcaster {
		backend := memory.NewBackend()
		return func() tracking.Broadcaster { return memory.New(backend, memory.Config{}) }
	})
}

func BenchmarkResume(b *testing.B) {
	backend := memory.NewBackend()
	servicetest.BenchResume(b, func() tracking.Broadcaster { return memory.New(backend, memory.Config{}) })
}
