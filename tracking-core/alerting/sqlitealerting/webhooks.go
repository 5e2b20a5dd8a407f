package sqlitealerting

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

func joinKinds(kinds []string) string {
	if len(kinds) == 0 {
		return ""
	}
	return "," + strings.Join(kinds, ",") + ","
}

func splitKinds(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// PutWebhook implements alerting.Store.
func (s *Store) PutWebhook(ctx context.Context, w alerting.Webhook) (alerting.Webhook, error) {
	if err := w.Validate(); err != nil {
		return w, err
	}
	now := time.Now().UTC()
	w.UpdatedAt = now
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if w.ID == "" {
			w.ID, w.CreatedAt = alerting.NewID("wh_"), now
			_, err := tx.ExecContext(ctx, `INSERT INTO alert_webhooks (id, team, url, secret, kinds, enabled, created, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.Team, w.URL, w.Secret, joinKinds(w.Kinds), w.Enabled, ns(now), ns(now))
			return err
		}
		var secret string
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT secret, created FROM alert_webhooks WHERE id = ? AND team = ? AND target = 'webhook'`, w.ID, w.Team).
			Scan(&secret, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return alerting.NotFound("no webhook %s in team %s", w.ID, w.Team)
		}
		if err != nil {
			return err
		}
		if w.Secret == "" {
			w.Secret = secret
		}
		w.CreatedAt = fromNS(created)
		_, err = tx.ExecContext(ctx, `UPDATE alert_webhooks SET url = ?, secret = ?, kinds = ?, enabled = ?, updated = ?
			WHERE id = ? AND team = ? AND target = 'webhook'`, w.URL, w.Secret, joinKinds(w.Kinds), w.Enabled, ns(now), w.ID, w.Team)
		return err
	})
	return w, wrap("put webhook", err)
}

const webhookColumns = `id, team, url, secret, kinds, enabled, created, updated`

func scanWebhooks(rows *sql.Rows) ([]alerting.Webhook, error) {
	defer rows.Close()
	var out []alerting.Webhook
	for rows.Next() {
		var w alerting.Webhook
		var kinds string
		var created, updated int64
		if err := rows.Scan(&w.ID, &w.Team, &w.URL, &w.Secret, &kinds, &w.Enabled, &created, &updated); err != nil {
			return nil, err
		}
		w.Kinds, w.CreatedAt, w.UpdatedAt = splitKinds(kinds), fromNS(created), fromNS(updated)
		out = append(out, w)
	}
	return out, rows.Err()
}

// GetWebhook implements alerting.Store.
func (s *Store) GetWebhook(ctx context.Context, team, id string) (alerting.Webhook, error) {
	if err := validWebhookKey(team, id); err != nil {
		return alerting.Webhook{}, err
	}
	if s.db.Closed() {
		return alerting.Webhook{}, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+webhookColumns+` FROM alert_webhooks WHERE id = ? AND team = ? AND target = 'webhook'`, id, team)
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
	if s.db.Closed() {
		return nil, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+webhookColumns+` FROM alert_webhooks WHERE team = ? AND target = 'webhook' ORDER BY created, id`, team)
	if err != nil {
		return nil, wrap("list webhooks", err)
	}
	ws, err := scanWebhooks(rows)
	return ws, wrap("list webhooks", err)
}

// DeleteWebhook implements alerting.Store.
func (s *Store) DeleteWebhook(ctx context.Context, team, id string) error {
	if err := validWebhookKey(team, id); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_webhooks WHERE id = ? AND team = ? AND target = 'webhook'`, id, team)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return alerting.NotFound("no webhook %s in team %s", id, team)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE webhook_id = ?`, id)
		return err
	})
	return wrap("delete webhook", err)
}

func validWebhookKey(team, id string) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	return tracking.ValidateID("id", id, 64)
}

// targetExists is the not_found check of the dead-letter methods: id is a
// target of kind target (alerting.TargetWebhook or TargetWebPush) in team.
func targetExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, team, id, target string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM alert_webhooks WHERE id = ? AND team = ? AND target = ?`, id, team, target).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		if target == alerting.TargetWebPush {
			return alerting.NotFound("no push subscription %s in team %s", id, team)
		}
		return alerting.NotFound("no webhook %s in team %s", id, team)
	}
	return err
}
