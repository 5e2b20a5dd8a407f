package devices_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every store read a Cache starts ends (with its answer or Timeout).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
