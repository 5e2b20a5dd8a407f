package messaging

import "fmt"

// MarkSQL is the part of the forward-only rule (the package doc) that
// backends put in their UPDATE of one recipient, in SQL both SQLite and
// PostgreSQL read, for target state to: the SET list and the WHERE guard.
// The columns are state (the rank), delivered, acked, read_at, expired
// and expires; at is the placeholder of the mark's time. A guard in the
// UPDATE itself (not read, then written) is what makes concurrent marks of
// one recipient report one change.
func MarkSQL(to State, at string) (set, where string) {
	switch to {
	case StateDelivered:
		return fmt.Sprintf("state = 1, delivered = %s", at),
			fmt.Sprintf("state < 1 AND %s < expires", at)
	case StateAcked:
		return fmt.Sprintf("state = 2, delivered = COALESCE(delivered, %[1]s), acked = %[1]s", at),
			fmt.Sprintf("state < 2 AND %s < expires", at)
	case StateRead:
		return fmt.Sprintf("state = 3, delivered = COALESCE(delivered, %[1]s), acked = COALESCE(acked, %[1]s), read_at = %[1]s", at),
			fmt.Sprintf("state < 3 AND (state = 2 OR %s < expires)", at)
	case StateExpired:
		return fmt.Sprintf("state = 4, expired = %s", at), "state < 2"
	}
	panic("messaging: MarkSQL of " + string(to))
}
