package sqlitealerting

import (
	"context"
	"database/sql"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
)

// Claim implements alerting.Store: one upsert that changes the row only
// when it is free or holder's, then reads who has it, in one IMMEDIATE
// transaction.
func (s *Store) Claim(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := alerting.ValidClaim(name, holder, now, until, false); err != nil {
		return false, err
	}
	var got string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_claims (name, holder, until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			WHERE alert_claims.holder = excluded.holder OR alert_claims.until <= ?`,
			name, holder, ns(until), ns(now)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT holder FROM alert_claims WHERE name = ?`, name).Scan(&got)
	})
	if err != nil {
		return false, wrap("claim", err)
	}
	return got == holder, nil
}

// Release implements alerting.Store.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if err := alerting.ValidClaim(name, holder, time.Time{}, time.Time{}, true); err != nil {
		return err
	}
	return wrap("release", s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_claims WHERE name = ? AND holder = ?`, name, holder)
		return err
	}))
}
