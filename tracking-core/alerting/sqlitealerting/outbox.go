package sqlitealerting

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// Lease implements alerting.Store: in one IMMEDIATE transaction (which no
// other process's writer can interleave with), the due rows are moved to
// due = Now + For with a new lease token, then read back by that token.
func (s *Store) Lease(ctx context.Context, r alerting.LeaseRequest) ([]alerting.Delivery, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	per := r.PerWebhook
	if per <= 0 {
		per = r.Max
	}
	if s.db.Closed() {
		return nil, alerting.ErrClosed
	}
	// Most polls find nothing due: answer them from a reader, without the
	// write lock that the history's writers (and other replicas) share.
	var one int
	err := s.db.R.QueryRowContext(ctx, `SELECT 1 FROM alert_outbox WHERE dead_at IS NULL AND due <= ? LIMIT 1`, ns(r.Now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("lease", err)
	}
	until := r.Now.Add(r.For)
	token := alerting.NewID("l_")
	var out []alerting.Delivery
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		skip := ""
		args := []any{ns(until), token, ns(r.Now)}
		if len(r.Skip) > 0 {
			skip = ` AND o.webhook_id NOT IN (?` + strings.Repeat(`, ?`, len(r.Skip)-1) + `)`
			for _, id := range r.Skip {
				args = append(args, id)
			}
		}
		// The earliest due candidates (bounded, so that a large backlog is
		// not ranked whole), at most per of each webhook, at most Max.
		args = append(args, 4*r.Max+100, per, r.Max)
		res, err := tx.ExecContext(ctx, `UPDATE alert_outbox SET due = ?, lease = ? WHERE id IN (
			SELECT id FROM (
				SELECT id, due, row_number() OVER (PARTITION BY webhook_id ORDER BY due, id) AS rn FROM (
					SELECT o.id, o.due, o.webhook_id FROM alert_outbox o JOIN alert_webhooks w ON w.id = o.webhook_id
					WHERE o.dead_at IS NULL AND o.due <= ? AND w.enabled = 1`+skip+`
					ORDER BY o.due, o.id LIMIT ?))
			WHERE rn <= ? ORDER BY due, id LIMIT ?)`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT o.id, o.team, o.webhook_id, o.attempts, w.url, w.secret,
			w.target, w.p256dh, w.auth, e.id, e.worker, e.kind, e.t, e.doc
			FROM alert_outbox o JOIN alert_webhooks w ON w.id = o.webhook_id
			JOIN alert_events e ON e.team = o.team AND e.id = o.event_id
			WHERE o.lease = ? ORDER BY o.id`, token)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := alerting.Delivery{LeaseUntil: until.UTC(), Lease: token}
			var t int64
			if err := rows.Scan(&d.ID, &d.Team, &d.WebhookID, &d.Attempts, &d.URL, &d.Secret,
				&d.Target, &d.P256dh, &d.Auth, &d.Event.ID, &d.Event.Worker, &d.Event.Kind, &t, &d.Event.JSON); err != nil {
				return err
			}
			d.Event.Team, d.Event.Time = d.Team, fromNS(t)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("lease", err)
	}
	return out, nil
}

// Delivered implements alerting.Store.
func (s *Store) Delivered(ctx context.Context, d alerting.Delivery) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE id = ? AND lease = ?`, d.ID, d.Lease)
		return leaseHeld(res, err)
	})
	return wrap("delivered", err)
}

// Failed implements alerting.Store.
func (s *Store) Failed(ctx context.Context, d alerting.Delivery, retryAt time.Time, lastError string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if retryAt.IsZero() {
			res, err = tx.ExecContext(ctx, `UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, lease = NULL,
				dead_at = ? WHERE id = ? AND lease = ?`, clipError(lastError), ns(time.Now()), d.ID, d.Lease)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, lease = NULL,
				due = ? WHERE id = ? AND lease = ?`, clipError(lastError), ns(retryAt), d.ID, d.Lease)
		}
		return leaseHeld(res, err)
	})
	return wrap("failed", err)
}

func leaseHeld(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return alerting.ErrLeaseLost
	}
	return nil
}

func clipError(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

// DeadLetters implements alerting.Store.
func (s *Store) DeadLetters(ctx context.Context, q alerting.DeadLetterQuery) (alerting.DeadLetterPage, error) {
	after, err := q.Validate()
	if err != nil {
		return alerting.DeadLetterPage{}, err
	}
	if s.db.Closed() {
		return alerting.DeadLetterPage{}, alerting.ErrClosed
	}
	if err := targetExists(ctx, s.db.R, q.Team, q.WebhookID, cmp.Or(q.Target, alerting.TargetWebhook)); err != nil {
		return alerting.DeadLetterPage{}, wrap("dead letters", err)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT o.id, o.webhook_id, o.attempts, o.last_error, o.dead_at,
		e.id, e.worker, e.kind, e.t, e.doc
		FROM alert_outbox o JOIN alert_events e ON e.team = o.team AND e.id = o.event_id
		WHERE o.webhook_id = ? AND o.team = ? AND o.dead_at IS NOT NULL AND o.id > ? ORDER BY o.id LIMIT ?`,
		q.WebhookID, q.Team, after, q.Limit+1)
	if err != nil {
		return alerting.DeadLetterPage{}, wrap("dead letters", err)
	}
	defer rows.Close()
	var page alerting.DeadLetterPage
	for rows.Next() {
		var dl alerting.DeadLetter
		var deadAt, t int64
		if err := rows.Scan(&dl.ID, &dl.WebhookID, &dl.Attempts, &dl.LastError, &deadAt,
			&dl.Event.ID, &dl.Event.Worker, &dl.Event.Kind, &t, &dl.Event.JSON); err != nil {
			return page, wrap("dead letters", err)
		}
		dl.Event.Team, dl.Event.Time, dl.DeadAt = q.Team, fromNS(t), fromNS(deadAt)
		page.DeadLetters = append(page.DeadLetters, dl)
	}
	if err := rows.Err(); err != nil {
		return page, wrap("dead letters", err)
	}
	if len(page.DeadLetters) > q.Limit {
		page.DeadLetters = page.DeadLetters[:q.Limit]
		page.Next = alerting.DeadLetterCursor(page.DeadLetters[q.Limit-1].ID)
	}
	return page, nil
}

// Replay implements alerting.Store.
func (s *Store) Replay(ctx context.Context, team, webhookID string, ids []int64) (int, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return 0, err
	}
	if err := tracking.ValidateID("webhook", webhookID, 64); err != nil {
		return 0, err
	}
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := targetExists(ctx, tx, team, webhookID, alerting.TargetWebhook); err != nil {
			return err
		}
		const q = `UPDATE alert_outbox SET dead_at = NULL, attempts = 0, last_error = '', lease = NULL, due = ?
			WHERE webhook_id = ? AND team = ? AND dead_at IS NOT NULL`
		now := ns(time.Now())
		if ids == nil {
			res, err := tx.ExecContext(ctx, q, now, webhookID, team)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		}
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 500)]
			ids = ids[len(chunk):]
			args := []any{now, webhookID, team}
			for _, id := range chunk {
				args = append(args, id)
			}
			res, err := tx.ExecContext(ctx, q+` AND id IN (?`+strings.Repeat(`, ?`, len(chunk)-1)+`)`, args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), wrap("replay", err)
}
