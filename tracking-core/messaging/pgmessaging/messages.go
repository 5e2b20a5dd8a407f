package pgmessaging

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teamtrack/tracking-core/messaging"
)

// Create implements messaging.Store.
func (s *Store) Create(ctx context.Context, m messaging.Message) (messaging.Message, error) {
	m, err := messaging.Prepare(m)
	if err != nil {
		return messaging.Message{}, err
	}
	var out messaging.Message
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO `+s.messages+` (team, id, sender, body, created, expires)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			m.Team, m.ID, m.Sender, []byte(m.Body), m.CreatedAt, m.ExpiresAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			stored, err := s.get(ctx, tx, m.Team, m.ID)
			if err != nil {
				return err
			}
			if !messaging.Same(stored, m) {
				return messaging.ErrNotSame(m.ID)
			}
			out = stored
			return nil
		}
		rows := make([][]any, len(m.Recipients))
		for i, r := range m.Recipients {
			rows[i] = []any{m.Team, m.ID, r.Worker, int32(i), int16(0), m.CreatedAt, m.ExpiresAt}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{s.cfg.Schema, "msg_recipients"},
			[]string{"team", "id", "worker", "pos", "state", "created", "expires"}, pgx.CopyFromRows(rows))
		if err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, wrap("create message", err)
}

func (s *Store) get(ctx context.Context, q pgx.Tx, team, id string) (messaging.Message, error) {
	m := messaging.Message{Team: team, ID: id}
	var body []byte
	err := q.QueryRow(ctx, `SELECT sender, body, created, expires FROM `+s.messages+` WHERE team = $1 AND id = $2`,
		team, id).Scan(&m.Sender, &body, &m.CreatedAt, &m.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return messaging.Message{}, messaging.NotFound(team, id)
	}
	if err != nil {
		return messaging.Message{}, err
	}
	m.Body, m.CreatedAt, m.ExpiresAt = body, m.CreatedAt.UTC(), m.ExpiresAt.UTC()
	rows, err := q.Query(ctx, `SELECT worker, state, delivered, acked, read_at, expired FROM `+s.recipients+`
		WHERE team = $1 AND id = $2 ORDER BY pos`, team, id)
	if err != nil {
		return messaging.Message{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var r messaging.Recipient
		var state int16
		var d, a, rd, e *time.Time
		if err := rows.Scan(&r.Worker, &state, &d, &a, &rd, &e); err != nil {
			return messaging.Message{}, err
		}
		r.State = messaging.StateOfRank(int(state))
		r.DeliveredAt, r.AckedAt, r.ReadAt, r.ExpiredAt = utc(d), utc(a), utc(rd), utc(e)
		m.Recipients = append(m.Recipients, r)
	}
	return m, rows.Err()
}

// Get implements messaging.Store.
func (s *Store) Get(ctx context.Context, team, id string) (messaging.Message, error) {
	if err := messaging.ValidateKey(team, id, ""); err != nil {
		return messaging.Message{}, err
	}
	if err := s.ready(ctx); err != nil {
		return messaging.Message{}, err
	}
	// One snapshot: the message and its recipients of one moment.
	var m messaging.Message
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		m, err = s.get(ctx, tx, team, id)
		return err
	})
	return m, wrap("get message", err)
}

// Pending implements messaging.Store.
func (s *Store) Pending(ctx context.Context, team, worker string, now time.Time, limit int) ([]messaging.Message, error) {
	if err := messaging.ValidatePending(team, worker, limit); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT m.id, m.sender, m.body, m.created, m.expires,
			r.worker, r.state, r.delivered, r.acked, r.read_at, r.expired
		FROM `+s.recipients+` r JOIN `+s.messages+` m ON m.team = r.team AND m.id = r.id
		WHERE r.team = $1 AND r.worker = $2 AND r.state < 2 AND r.expires > $3
		ORDER BY r.created, r.id LIMIT $4`, team, worker, messaging.Stamp(now), limit)
	if err != nil {
		return nil, wrap("pending messages", err)
	}
	defer rows.Close()
	var out []messaging.Message
	for rows.Next() {
		m := messaging.Message{Team: team, Recipients: make([]messaging.Recipient, 1)}
		r := &m.Recipients[0]
		var body []byte
		var state int16
		var d, a, rd, e *time.Time
		if err := rows.Scan(&m.ID, &m.Sender, &body, &m.CreatedAt, &m.ExpiresAt, &r.Worker, &state, &d, &a, &rd, &e); err != nil {
			return nil, wrap("pending messages", err)
		}
		m.Body, m.CreatedAt, m.ExpiresAt = body, m.CreatedAt.UTC(), m.ExpiresAt.UTC()
		r.State = messaging.StateOfRank(int(state))
		r.DeliveredAt, r.AckedAt, r.ReadAt, r.ExpiredAt = utc(d), utc(a), utc(rd), utc(e)
		out = append(out, m)
	}
	return out, wrap("pending messages", rows.Err())
}

// Mark implements messaging.Store.
func (s *Store) Mark(ctx context.Context, team, id, worker string, state messaging.State, at time.Time) (bool, error) {
	if err := messaging.ValidateMark(team, id, worker, state, at); err != nil {
		return false, err
	}
	set, where := messaging.MarkSQL(state, "$1::timestamptz")
	var changed bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE `+s.recipients+` SET `+set+`
			WHERE team = $2 AND id = $3 AND worker = $4 AND `+where,
			messaging.Stamp(at), team, id, worker)
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			changed = true
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM `+s.recipients+` WHERE team = $1 AND id = $2 AND worker = $3`,
			team, id, worker).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return messaging.NotFound(team, id)
		}
		return err
	})
	return changed, wrap("mark message", err)
}

// Expire implements messaging.Store.
func (s *Store) Expire(ctx context.Context, now time.Time, limit int) ([]messaging.Expired, error) {
	if err := messaging.ValidateLimit(limit); err != nil {
		return nil, err
	}
	var out []messaging.Expired
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (SELECT team, id, worker FROM `+s.recipients+`
				WHERE state < 2 AND expires <= $1 ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE `+s.recipients+` r SET state = 4, expired = r.expires FROM due
			WHERE r.team = due.team AND r.id = due.id AND r.worker = due.worker AND r.state < 2
			RETURNING r.team, r.id, r.worker, r.expires`, messaging.Stamp(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e messaging.Expired
			if err := rows.Scan(&e.Team, &e.ID, &e.Worker, &e.At); err != nil {
				return err
			}
			e.At = e.At.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("expire messages", err)
	}
	slices.SortFunc(out, messaging.CompareExpired)
	return out, nil
}

// Prune implements messaging.Store.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	return wrap("prune messages", s.tx(ctx, func(tx pgx.Tx) error {
		// The recipients go with their message (ON DELETE CASCADE).
		_, err := tx.Exec(ctx, `DELETE FROM `+s.messages+` WHERE expires < $1`, messaging.Stamp(before))
		return err
	}))
}
