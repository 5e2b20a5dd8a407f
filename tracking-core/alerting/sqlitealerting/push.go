package sqlitealerting

import (
	"context"
	"database/sql"
	"errors"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// Push subscriptions are rows of alert_webhooks with target 'webpush': url
// is the endpoint, secret is empty, enabled is always 1, so that the outbox
// (queueing in AppendEvents, Lease, Failed, dead letters) treats them as it
// treats webhooks.

// PutPushSubscription implements alerting.Store: an upsert on the unique
// (team, url) of push subscriptions.
func (s *Store) PutPushSubscription(ctx context.Context, p alerting.PushSubscription) (alerting.PushSubscription, bool, error) {
	if err := p.Validate(); err != nil {
		return p, false, err
	}
	now := time.Now().UTC()
	id := alerting.NewID("ps_")
	var created int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO alert_webhooks (id, team, url, secret, kinds, enabled, created, updated,
				target, p256dh, auth, subject)
			VALUES (?, ?, ?, '', ?, 1, ?, ?, 'webpush', ?, ?, ?)
			ON CONFLICT (team, url) WHERE target = 'webpush' DO UPDATE SET kinds = excluded.kinds,
				updated = excluded.updated, p256dh = excluded.p256dh, auth = excluded.auth, subject = excluded.subject
			RETURNING id, created`,
			id, p.Team, p.Endpoint, joinKinds(p.Kinds), ns(now), ns(now), p.P256dh, p.Auth, p.Subject).Scan(&p.ID, &created)
	})
	if err != nil {
		return p, false, wrap("put push subscription", err)
	}
	p.CreatedAt, p.UpdatedAt = fromNS(created), now
	return p, p.ID == id, nil
}

const pushColumns = `id, team, url, kinds, p256dh, auth, subject, created, updated`

func scanPush(rows *sql.Rows) ([]alerting.PushSubscription, error) {
	defer rows.Close()
	var out []alerting.PushSubscription
	for rows.Next() {
		var p alerting.PushSubscription
		var kinds string
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Team, &p.Endpoint, &kinds, &p.P256dh, &p.Auth, &p.Subject, &created, &updated); err != nil {
			return nil, err
		}
		p.Kinds, p.CreatedAt, p.UpdatedAt = splitKinds(kinds), fromNS(created), fromNS(updated)
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetPushSubscription implements alerting.Store.
func (s *Store) GetPushSubscription(ctx context.Context, team, id string) (alerting.PushSubscription, error) {
	if err := validWebhookKey(team, id); err != nil {
		return alerting.PushSubscription{}, err
	}
	if s.db.Closed() {
		return alerting.PushSubscription{}, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+pushColumns+` FROM alert_webhooks WHERE id = ? AND team = ? AND target = 'webpush'`, id, team)
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
	if s.db.Closed() {
		return nil, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+pushColumns+` FROM alert_webhooks WHERE team = ? AND target = 'webpush' ORDER BY created, id`, team)
	if err != nil {
		return nil, wrap("list push subscriptions", err)
	}
	ps, err := scanPush(rows)
	return ps, wrap("list push subscriptions", err)
}

// DeletePushSubscription implements alerting.Store.
func (s *Store) DeletePushSubscription(ctx context.Context, team, id string) error {
	if err := validWebhookKey(team, id); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_webhooks WHERE id = ? AND team = ? AND target = 'webpush'`, id, team)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return alerting.NotFound("no push subscription %s in team %s", id, team)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE webhook_id = ?`, id)
		return err
	})
	return wrap("delete push subscription", err)
}

// VAPIDKeys implements alerting.Store.
func (s *Store) VAPIDKeys(ctx context.Context, candidate alerting.VAPIDKeys) (alerting.VAPIDKeys, error) {
	if err := candidate.Validate(); err != nil {
		return alerting.VAPIDKeys{}, err
	}
	var k alerting.VAPIDKeys
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO alert_vapid (k, public, private, created) VALUES (1, ?, ?, ?)`,
			candidate.Public, candidate.Private, ns(time.Now())); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT public, private FROM alert_vapid WHERE k = 1`).Scan(&k.Public, &k.Private)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the VAPID keys just stored are not there")
		}
		return err
	})
	return k, wrap("vapid keys", err)
}
