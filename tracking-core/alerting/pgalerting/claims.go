package pgalerting

import (
	"context"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
)

// Claim implements alerting.Store: one upsert that changes the row only
// when it is free or holder's; the row's lock orders concurrent claims.
func (s *Store) Claim(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := alerting.ValidClaim(name, holder, now, until, false); err != nil {
		return false, err
	}
	if err := s.ready(ctx); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.claims+` (name, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE `+s.claims+`.holder = excluded.holder OR `+s.claims+`.until <= $4`,
		name, holder, us(until), us(now))
	if err != nil {
		return false, wrap("claim", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Release implements alerting.Store.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if err := alerting.ValidClaim(name, holder, time.Time{}, time.Time{}, true); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM `+s.claims+` WHERE name = $1 AND holder = $2`, name, holder)
	return wrap("release", err)
}
