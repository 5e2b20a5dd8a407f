package pgalerting

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// Lease implements alerting.Store: candidates (the earliest due, bounded)
// are locked FOR UPDATE SKIP LOCKED, at most PerWebhook of each webhook and
// Max in all are picked, and moved to due = Now + For with a new lease
// token; RETURNING gives them with their webhook and event.
func (s *Store) Lease(ctx context.Context, r alerting.LeaseRequest) ([]alerting.Delivery, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	per := r.PerWebhook
	if per <= 0 {
		per = r.Max
	}
	until := us(r.Now.Add(r.For)).UTC()
	token := alerting.NewID("l_")
	skip := r.Skip
	if skip == nil {
		skip = []string{}
	}
	rows, err := s.pool.Query(ctx, `WITH cand AS (
			SELECT o.id, o.webhook_id, o.due FROM `+s.outbox+` o JOIN `+s.webhooks+` w ON w.id = o.webhook_id
			WHERE o.dead_at IS NULL AND o.due <= $1 AND w.enabled AND NOT (o.webhook_id = ANY ($2::text[]))
			ORDER BY o.due, o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED),
		ranked AS (SELECT id, due, row_number() OVER (PARTITION BY webhook_id ORDER BY due, id) AS rn FROM cand),
		pick AS (SELECT id FROM ranked WHERE rn <= $4 ORDER BY due, id LIMIT $5)
		UPDATE `+s.outbox+` o SET due = $6, lease = $7 FROM pick, `+s.webhooks+` w, `+s.events+` e
		WHERE o.id = pick.id AND w.id = o.webhook_id AND e.team = o.team AND e.id = o.event_id
		RETURNING o.id, o.team, o.webhook_id, o.attempts, w.url, w.secret, w.target, w.p256dh, w.auth, e.id, e.worker, e.kind, e.t, e.doc`,
		us(r.Now), skip, 4*r.Max+100, per, r.Max, until, token)
	if err != nil {
		return nil, wrap("lease", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (alerting.Delivery, error) {
		d := alerting.Delivery{LeaseUntil: until, Lease: token}
		err := row.Scan(&d.ID, &d.Team, &d.WebhookID, &d.Attempts, &d.URL, &d.Secret, &d.Target, &d.P256dh, &d.Auth,
			&d.Event.ID, &d.Event.Worker, &d.Event.Kind, &d.Event.Time, &d.Event.JSON)
		d.Event.Team, d.Event.Time = d.Team, d.Event.Time.UTC()
		return d, err
	})
	if err != nil {
		return nil, wrap("lease", err)
	}
	slices.SortFunc(out, func(a, b alerting.Delivery) int { return int(a.ID - b.ID) })
	return out, nil
}

func leaseHeld(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return alerting.ErrLeaseLost
	}
	return err
}

// Delivered implements alerting.Store.
func (s *Store) Delivered(ctx context.Context, d alerting.Delivery) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return wrap("delivered", leaseHeld(s.pool.Exec(ctx, `DELETE FROM `+s.outbox+` WHERE id = $1 AND lease = $2`, d.ID, d.Lease)))
}

// Failed implements alerting.Store.
func (s *Store) Failed(ctx context.Context, d alerting.Delivery, retryAt time.Time, lastError string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if len(lastError) > 1000 {
		lastError = lastError[:1000]
	}
	var tag pgconn.CommandTag
	var err error
	if retryAt.IsZero() {
		tag, err = s.pool.Exec(ctx, `UPDATE `+s.outbox+` SET attempts = attempts + 1, last_error = $1, lease = NULL,
			dead_at = $2 WHERE id = $3 AND lease = $4`, lastError, us(time.Now()), d.ID, d.Lease)
	} else {
		tag, err = s.pool.Exec(ctx, `UPDATE `+s.outbox+` SET attempts = attempts + 1, last_error = $1, lease = NULL,
			due = $2 WHERE id = $3 AND lease = $4`, lastError, us(retryAt), d.ID, d.Lease)
	}
	return wrap("failed", leaseHeld(tag, err))
}

// DeadLetters implements alerting.Store.
func (s *Store) DeadLetters(ctx context.Context, q alerting.DeadLetterQuery) (alerting.DeadLetterPage, error) {
	after, err := q.Validate()
	if err != nil {
		return alerting.DeadLetterPage{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.DeadLetterPage{}, err
	}
	if err := s.targetExists(ctx, s.pool, q.Team, q.WebhookID, cmp.Or(q.Target, alerting.TargetWebhook)); err != nil {
		return alerting.DeadLetterPage{}, wrap("dead letters", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT o.id, o.webhook_id, o.attempts, o.last_error, o.dead_at,
		e.id, e.worker, e.kind, e.t, e.doc
		FROM `+s.outbox+` o JOIN `+s.events+` e ON e.team = o.team AND e.id = o.event_id
		WHERE o.webhook_id = $1 AND o.team = $2 AND o.dead_at IS NOT NULL AND o.id > $3 ORDER BY o.id LIMIT $4`,
		q.WebhookID, q.Team, after, q.Limit+1)
	if err != nil {
		return alerting.DeadLetterPage{}, wrap("dead letters", err)
	}
	dls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerting.DeadLetter, error) {
		var dl alerting.DeadLetter
		err := r.Scan(&dl.ID, &dl.WebhookID, &dl.Attempts, &dl.LastError, &dl.DeadAt,
			&dl.Event.ID, &dl.Event.Worker, &dl.Event.Kind, &dl.Event.Time, &dl.Event.JSON)
		dl.Event.Team, dl.Event.Time, dl.DeadAt = q.Team, dl.Event.Time.UTC(), dl.DeadAt.UTC()
		return dl, err
	})
	if err != nil {
		return alerting.DeadLetterPage{}, wrap("dead letters", err)
	}
	page := alerting.DeadLetterPage{DeadLetters: dls}
	if len(dls) > q.Limit {
		page.DeadLetters = dls[:q.Limit]
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.targetExists(ctx, tx, team, webhookID, alerting.TargetWebhook); err != nil {
			return err
		}
		q := `UPDATE ` + s.outbox + ` SET dead_at = NULL, attempts = 0, last_error = '', lease = NULL, due = $1
			WHERE webhook_id = $2 AND team = $3 AND dead_at IS NOT NULL`
		args := []any{us(time.Now()), webhookID, team}
		if ids != nil {
			q += ` AND id = ANY ($4::bigint[])`
			args = append(args, ids)
		}
		tag, err := tx.Exec(ctx, q, args...)
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("replay", err)
}
