package pgalerting

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teamtrack/tracking-core/alerting"
)

// AppendEvents implements alerting.Store: one statement inserts the events
// (ON CONFLICT DO NOTHING) and queues the new ones (those RETURNING gives)
// for the matching webhooks.
func (s *Store) AppendEvents(ctx context.Context, events []alerting.Event) error {
	if err := alerting.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	n := len(events)
	teams, ids, workers, kinds := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, docs := make([]time.Time, n), make([][]byte, n)
	for i := range events {
		e := &events[i]
		teams[i], ids[i], workers[i], kinds[i], times[i], docs[i] = e.Team, e.ID, e.Worker, e.Kind, us(e.Time), e.JSON
	}
	_, err := s.pool.Exec(ctx, `WITH ins AS (
			INSERT INTO `+s.events+` (team, id, worker, kind, t, doc)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[])
			ON CONFLICT DO NOTHING RETURNING team, id, kind, t)
		INSERT INTO `+s.outbox+` (team, webhook_id, event_id, event_time, due)
		SELECT ins.team, w.id, ins.id, ins.t, $7 FROM ins JOIN `+s.webhooks+` w
			ON w.team = ins.team AND w.enabled AND (cardinality(w.kinds) = 0 OR ins.kind = ANY (w.kinds))`,
		teams, ids, workers, kinds, times, docs, us(time.Now()))
	return wrap("append events", err)
}

// QueryEvents implements alerting.Store.
func (s *Store) QueryEvents(ctx context.Context, q alerting.EventQuery) (alerting.EventPage, error) {
	after, err := q.Validate()
	if err != nil {
		return alerting.EventPage{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.EventPage{}, err
	}
	query := `SELECT team, id, worker, kind, t, doc FROM ` + s.events + ` WHERE team = $1 AND t >= $2 AND t < $3`
	args := []any{q.Team, us(q.From), us(q.To)}
	if !after.IsZero() {
		query += ` AND (t, id) > ($4, $5)`
		args = append(args, after.Time, after.ID)
	}
	args = append(args, q.Limit+1)
	query += ` ORDER BY t, id LIMIT $` + itoa(len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return alerting.EventPage{}, wrap("query events", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerting.Event, error) {
		var e alerting.Event
		err := r.Scan(&e.Team, &e.ID, &e.Worker, &e.Kind, &e.Time, &e.JSON)
		e.Time = e.Time.UTC()
		return e, err
	})
	if err != nil {
		return alerting.EventPage{}, wrap("query events", err)
	}
	page := alerting.EventPage{Events: evs}
	if len(evs) > q.Limit {
		page.Events = evs[:q.Limit]
		last := page.Events[q.Limit-1]
		page.Next = alerting.EventKey{Time: last.Time, ID: last.ID}.Cursor()
	}
	return page, nil
}

// Prune implements alerting.Store. Deleting events cascades to their
// deliveries and dead letters.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+s.events+` WHERE t < $1`, us(before)); err != nil {
			return err
		}
		var top *int64
		if err := tx.QueryRow(ctx, `SELECT max(version) FROM `+s.definitions+` WHERE deleted AND updated < $1`, before).Scan(&top); err != nil {
			return err
		}
		if top == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE `+s.version+` SET horizon = greatest(horizon, $1) WHERE k = 1`, *top); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM `+s.definitions+` WHERE deleted AND version <= $1`, *top)
		return err
	})
	return wrap("prune", err)
}
