package pgalerting

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

func itoa(n int) string { return strconv.Itoa(n) }

func kindsOrEmpty(k []string) []string {
	if k == nil {
		return []string{}
	}
	return k
}

// PutWebhook implements alerting.Store.
func (s *Store) PutWebhook(ctx context.Context, w alerting.Webhook) (alerting.Webhook, error) {
	if err := w.Validate(); err != nil {
		return w, err
	}
	now := us(time.Now()).UTC()
	w.UpdatedAt = now
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if w.ID == "" {
			w.ID, w.CreatedAt = alerting.NewID("wh_"), now
			_, err := tx.Exec(ctx, `INSERT INTO `+s.webhooks+` (id, team, url, secret, kinds, enabled, created, updated)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, w.ID, w.Team, w.URL, w.Secret, kindsOrEmpty(w.Kinds), w.Enabled, now)
			return err
		}
		err := tx.QueryRow(ctx, `UPDATE `+s.webhooks+` SET url = $1, secret = coalesce(nullif($2, ''), secret),
			kinds = $3, enabled = $4, updated = $5 WHERE id = $6 AND team = $7 AND target = 'webhook' RETURNING secret, created`,
			w.URL, w.Secret, kindsOrEmpty(w.Kinds), w.Enabled, now, w.ID, w.Team).Scan(&w.Secret, &w.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return alerting.NotFound("no webhook %s in team %s", w.ID, w.Team)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		return err
	})
	return w, wrap("put webhook", err)
}

const webhookColumns = `id, team, url, secret, kinds, enabled, created, updated`

func scanWebhooks(rows pgx.Rows) ([]alerting.Webhook, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerting.Webhook, error) {
		var w alerting.Webhook
		err := r.Scan(&w.ID, &w.Team, &w.URL, &w.Secret, &w.Kinds, &w.Enabled, &w.CreatedAt, &w.UpdatedAt)
		if len(w.Kinds) == 0 {
			w.Kinds = nil
		}
		w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
		return w, err
	})
}

func validWebhookKey(team, id string) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	return tracking.ValidateID("id", id, 64)
}

// GetWebhook implements alerting.Store.
func (s *Store) GetWebhook(ctx context.Context, team, id string) (alerting.Webhook, error) {
	if err := validWebhookKey(team, id); err != nil {
		return alerting.Webhook{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.Webhook{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM `+s.webhooks+` WHERE id = $1 AND team = $2 AND target = 'webhook'`, id, team)
	if err != nil {
		return alerting.Webhook{}, wrap("get webhook", err)
	}
	ws, err := scanWebhooks(rows)
	if err != nil {
		return alerting.Webhook{}, wrap("get webhook", err)
	}
	if len(ws) == 0 {
		return alerting.Webhook{}, alerting.NotFound("no webhook %s in team %s", id, team)
	}
	return ws[0], nil
}

// ListWebhooks implements alerting.Store.
func (s *Store) ListWebhooks(ctx context.Context, team string) ([]alerting.Webhook, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM `+s.webhooks+` WHERE team = $1 AND target = 'webhook' ORDER BY created, id`, team)
	if err != nil {
		return nil, wrap("list webhooks", err)
	}
	ws, err := scanWebhooks(rows)
	return ws, wrap("list webhooks", err)
}

// DeleteWebhook implements alerting.Store; its deliveries go by cascade.
func (s *Store) DeleteWebhook(ctx context.Context, team, id string) error {
	if err := validWebhookKey(team, id); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.webhooks+` WHERE id = $1 AND team = $2 AND target = 'webhook'`, id, team)
	if err == nil && tag.RowsAffected() == 0 {
		return alerting.NotFound("no webhook %s in team %s", id, team)
	}
	return wrap("delete webhook", err)
}

// targetExists is the not_found check of the dead-letter methods: id is a
// target of kind target (alerting.TargetWebhook or TargetWebPush) in team.
func (s *Store) targetExists(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, team, id, target string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM `+s.webhooks+` WHERE id = $1 AND team = $2 AND target = $3`, id, team, target).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		if target == alerting.TargetWebPush {
			return alerting.NotFound("no push subscription %s in team %s", id, team)
		}
		return alerting.NotFound("no webhook %s in team %s", id, team)
	}
	return err
}
