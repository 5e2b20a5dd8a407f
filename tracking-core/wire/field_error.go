package wire

import (
	"fmt"
	"math"

	tracking "github.com/teamtrack/tracking-core"
)

// fieldError reports a problem with one field of a record, as the domain's
// validation does (tracking.Position.Validate).
func fieldError(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
