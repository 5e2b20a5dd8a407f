package sqlitealerting

import (
	"context"
	"database/sql"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
)

// AppendEvents implements alerting.Store: each new event (INSERT OR IGNORE
// changed a row) is queued for the matching webhooks in the same
// transaction.
func (s *Store) AppendEvents(ctx context.Context, events []alerting.Event) error {
	if err := alerting.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	now := ns(time.Now())
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO alert_events (team, id, worker, kind, t, doc) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		queue, err := tx.PrepareContext(ctx, `INSERT INTO alert_outbox (team, webhook_id, event_id, event_time, due)
			SELECT team, id, ?, ?, ? FROM alert_webhooks
			WHERE team = ? AND enabled = 1 AND (kinds = '' OR instr(kinds, ',' || ? || ',') > 0)`)
		if err != nil {
			return err
		}
		defer queue.Close()
		for i := range events {
			e := &events[i]
			res, err := ins.ExecContext(ctx, e.Team, e.ID, e.Worker, e.Kind, ns(e.Time), e.JSON)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue // stored before: queued then
			}
			if _, err := queue.ExecContext(ctx, e.ID, ns(e.Time), now, e.Team, e.Kind); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append events", err)
}

// QueryEvents implements alerting.Store.
func (s *Store) QueryEvents(ctx context.Context, q alerting.EventQuery) (alerting.EventPage, error) {
	after, err := q.Validate()
	if err != nil {
		return alerting.EventPage{}, err
	}
	if s.db.Closed() {
		return alerting.EventPage{}, alerting.ErrClosed
	}
	query := `SELECT team, id, worker, kind, t, doc FROM alert_events WHERE team = ? AND t >= ? AND t < ?`
	args := []any{q.Team, ns(q.From), ns(q.To)}
	if !after.IsZero() {
		query += ` AND (t, id) > (?, ?)`
		args = append(args, ns(after.Time), after.ID)
	}
	query += ` ORDER BY t, id LIMIT ?`
	args = append(args, q.Limit+1)
	rows, err := s.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return alerting.EventPage{}, wrap("query events", err)
	}
	defer rows.Close()
	var page alerting.EventPage
	for rows.Next() {
		var e alerting.Event
		var t int64
		if err := rows.Scan(&e.Team, &e.ID, &e.Worker, &e.Kind, &t, &e.JSON); err != nil {
			return page, wrap("query events", err)
		}
		e.Time = fromNS(t)
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return page, wrap("query events", err)
	}
	if len(page.Events) > q.Limit {
		page.Events = page.Events[:q.Limit]
		last := page.Events[q.Limit-1]
		page.Next = alerting.EventKey{Time: last.Time, ID: last.ID}.Cursor()
	}
	return page, nil
}

// Prune implements alerting.Store.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE event_time < ?`, ns(before)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_events WHERE t < ?`, ns(before)); err != nil {
			return err
		}
		var top sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM alert_definitions WHERE deleted = 1 AND updated < ?`,
			ns(before)).Scan(&top); err != nil {
			return err
		}
		if !top.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_version SET horizon = max(horizon, ?) WHERE k = 1`, top.Int64); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_definitions WHERE deleted = 1 AND version <= ?`, top.Int64)
		return err
	})
	return wrap("prune", err)
}
