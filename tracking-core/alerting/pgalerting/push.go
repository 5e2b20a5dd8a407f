package pgalerting

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// Push subscriptions are rows of alert_webhooks with target 'webpush': url
// is the endpoint, secret is empty, enabled is always true, so that the
// outbox (queueing in AppendEvents, Lease, Failed, dead letters, the cascade
// of a delete) treats them as it treats webhooks.

// PutPushSubscription implements alerting.Store: an upsert on the unique
// (team, url) of push subscriptions.
func (s *Store) PutPushSubscription(ctx context.Context, p alerting.PushSubscription) (alerting.PushSubscription, bool, error) {
	if err := p.Validate(); err != nil {
		return p, false, err
	}
	if err := s.ready(ctx); err != nil {
		return p, false, err
	}
	now := us(time.Now()).UTC()
	id := alerting.NewID("ps_")
	err := s.pool.QueryRow(ctx, `INSERT INTO `+s.webhooks+` (id, team, url, secret, kinds, enabled, created, updated,
			target, p256dh, auth, subject)
		VALUES ($1, $2, $3, '', $4, true, $5, $5, 'webpush', $6, $7, $8)
		ON CONFLICT (team, url) WHERE target = 'webpush' DO UPDATE SET kinds = excluded.kinds,
			updated = excluded.updated, p256dh = excluded.p256dh, auth = excluded.auth, subject = excluded.subject
		RETURNING id, created`,
		id, p.Team, p.Endpoint, kindsOrEmpty(p.Kinds), now, p.P256dh, p.Auth, p.Subject).Scan(&p.ID, &p.CreatedAt)
	if err != nil {
		return p, false, wrap("put push subscription", err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), now
	return p, p.ID == id, nil
}

const pushColumns = `id, team, url, kinds, p256dh, auth, subject, created, updated`

func scanPush(rows pgx.Rows) ([]alerting.PushSubscription, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerting.PushSubscription, error) {
		var p alerting.PushSubscription
		err := r.Scan(&p.ID, &p.Team, &p.Endpoint, &p.Kinds, &p.P256dh, &p.Auth, &p.Subject, &p.CreatedAt, &p.UpdatedAt)
		if len(p.Kinds) == 0 {
			p.Kinds = nil
		}
		p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
		return p, err
	})
}

// GetPushSubscription implements alerting.Store.
func (s *Store) GetPushSubscription(ctx context.Context, team, id string) (alerting.PushSubscription, error) {
	if err := validWebhookKey(team, id); err != nil {
		return alerting.PushSubscription{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.PushSubscription{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pushColumns+` FROM `+s.webhooks+` WHERE id = $1 AND team = $2 AND target = 'webpush'`, id, team)
	if err != nil {
		return alerting.PushSubscription{}, wrap("get push subscription", err)
	}
	ps, err := scanPush(rows)
	if err != nil {
		return alerting.PushSubscription{}, wrap("get push subscription", err)
	}
	if len(ps) == 0 {
		return alerting.PushSubscription{}, alerting.NotFound("no push subscription %s in team %s", id, team)
	}
	return ps[0], nil
}

// ListPushSubscriptions implements alerting.Store.
func (s *Store) ListPushSubscriptions(ctx context.Context, team string) ([]alerting.PushSubscription, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pushColumns+` FROM `+s.webhooks+` WHERE team = $1 AND target = 'webpush' ORDER BY created, id`, team)
	if err != nil {
		return nil, wrap("list push subscriptions", err)
	}
	ps, err := scanPush(rows)
	return ps, wrap("list push subscriptions", err)
}

// DeletePushSubscription implements alerting.Store; its deliveries go by
// cascade.
func (s *Store) DeletePushSubscription(ctx context.Context, team, id string) error {
	if err := validWebhookKey(team, id); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.webhooks+` WHERE id = $1 AND team = $2 AND target = 'webpush'`, id, team)
	if err == nil && tag.RowsAffected() == 0 {
		return alerting.NotFound("no push subscription %s in team %s", id, team)
	}
	return wrap("delete push subscription", err)
}

// VAPIDKeys implements alerting.Store.
func (s *Store) VAPIDKeys(ctx context.Context, candidate alerting.VAPIDKeys) (alerting.VAPIDKeys, error) {
	if err := candidate.Validate(); err != nil {
		return alerting.VAPIDKeys{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.VAPIDKeys{}, err
	}
	// Two statements: an INSERT that a concurrent one made first waits for
	// it to commit, and the SELECT after it (a new snapshot) sees its row.
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+s.vapid+` (k, public, private, created) VALUES (1, $1, $2, $3)
		ON CONFLICT (k) DO NOTHING`, candidate.Public, candidate.Private, us(time.Now())); err != nil {
		return alerting.VAPIDKeys{}, wrap("vapid keys", err)
	}
	var k alerting.VAPIDKeys
	err := s.pool.QueryRow(ctx, `SELECT public, private FROM `+s.vapid+` WHERE k = 1`).Scan(&k.Public, &k.Private)
	return k, wrap("vapid keys", err)
}
