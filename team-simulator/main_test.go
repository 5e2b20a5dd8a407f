package simulator

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: Run and RunLoad close every
// stream and wait for it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
