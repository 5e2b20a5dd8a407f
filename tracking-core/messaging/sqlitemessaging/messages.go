package sqlitemessaging

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/teamtrack/tracking-core/messaging"
)

// Create implements messaging.Store.
func (s *Store) Create(ctx context.Context, m messaging.Message) (messaging.Message, error) {
	m, err := messaging.Prepare(m)
	if err != nil {
		return messaging.Message{}, err
	}
	var out messaging.Message
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO msg_messages (team, id, sender, body, created, expires)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			m.Team, m.ID, m.Sender, []byte(m.Body), ns(m.CreatedAt), ns(m.ExpiresAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			stored, err := get(ctx, tx, m.Team, m.ID)
			if err != nil {
				return err
			}
			if !messaging.Same(stored, m) {
				return messaging.ErrNotSame(m.ID)
			}
			out = stored
			return nil
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO msg_recipients (team, id, worker, pos, state, created, expires)
			VALUES (?, ?, ?, ?, 0, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, r := range m.Recipients {
			if _, err := st.ExecContext(ctx, m.Team, m.ID, r.Worker, i, ns(m.CreatedAt), ns(m.ExpiresAt)); err != nil {
				return err
			}
		}
		out = m
		return nil
	})
	return out, wrap("create message", err)
}

// querier is what get needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func get(ctx context.Context, q querier, team, id string) (messaging.Message, error) {
	m := messaging.Message{Team: team, ID: id}
	var created, expires int64
	err := q.QueryRowContext(ctx, `SELECT sender, body, created, expires FROM msg_messages WHERE team = ? AND id = ?`,
		team, id).Scan(&m.Sender, &m.Body, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return messaging.Message{}, messaging.NotFound(team, id)
	}
	if err != nil {
		return messaging.Message{}, err
	}
	m.CreatedAt, m.ExpiresAt = fromNS(created), fromNS(expires)
	rows, err := q.QueryContext(ctx, `SELECT worker, state, delivered, acked, read_at, expired FROM msg_recipients
		WHERE team = ? AND id = ? ORDER BY pos`, team, id)
	if err != nil {
		return messaging.Message{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var r messaging.Recipient
		if err := scanRecipient(rows, &r); err != nil {
			return messaging.Message{}, err
		}
		m.Recipients = append(m.Recipients, r)
	}
	return m, rows.Err()
}

func scanRecipient(rows *sql.Rows, r *messaging.Recipient) error {
	var state int
	var d, a, rd, e sql.NullInt64
	if err := rows.Scan(&r.Worker, &state, &d, &a, &rd, &e); err != nil {
		return err
	}
	r.State = messaging.StateOfRank(state)
	r.DeliveredAt, r.AckedAt, r.ReadAt, r.ExpiredAt = fromNull(d), fromNull(a), fromNull(rd), fromNull(e)
	return nil
}

// Get implements messaging.Store.
func (s *Store) Get(ctx context.Context, team, id string) (messaging.Message, error) {
	if err := messaging.ValidateKey(team, id, ""); err != nil {
		return messaging.Message{}, err
	}
	if s.db.Closed() {
		return messaging.Message{}, messaging.ErrClosed
	}
	// One read transaction: the message and its recipients of one moment.
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return messaging.Message{}, wrap("get message", err)
	}
	defer func() { _ = tx.Rollback() }()
	m, err := get(ctx, tx, team, id)
	return m, wrap("get message", err)
}

// Pending implements messaging.Store.
func (s *Store) Pending(ctx context.Context, team, worker string, now time.Time, limit int) ([]messaging.Message, error) {
	if err := messaging.ValidatePending(team, worker, limit); err != nil {
		return nil, err
	}
	if s.db.Closed() {
		return nil, messaging.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT m.id, m.sender, m.body, m.created, m.expires,
			r.worker, r.state, r.delivered, r.acked, r.read_at, r.expired
		FROM msg_recipients r JOIN msg_messages m ON m.team = r.team AND m.id = r.id
		WHERE r.team = ? AND r.worker = ? AND r.state < 2 AND r.expires > ?
		ORDER BY r.created, r.id LIMIT ?`, team, worker, ns(messaging.Stamp(now)), limit)
	if err != nil {
		return nil, wrap("pending messages", err)
	}
	defer rows.Close()
	var out []messaging.Message
	for rows.Next() {
		m := messaging.Message{Team: team, Recipients: make([]messaging.Recipient, 1)}
		var created, expires int64
		var state int
		var d, a, rd, e sql.NullInt64
		r := &m.Recipients[0]
		if err := rows.Scan(&m.ID, &m.Sender, &m.Body, &created, &expires, &r.Worker, &state, &d, &a, &rd, &e); err != nil {
			return nil, wrap("pending messages", err)
		}
		m.CreatedAt, m.ExpiresAt = fromNS(created), fromNS(expires)
		r.State = messaging.StateOfRank(state)
		r.DeliveredAt, r.AckedAt, r.ReadAt, r.ExpiredAt = fromNull(d), fromNull(a), fromNull(rd), fromNull(e)
		out = append(out, m)
	}
	return out, wrap("pending messages", rows.Err())
}

// Mark implements messaging.Store.
func (s *Store) Mark(ctx context.Context, team, id, worker string, state messaging.State, at time.Time) (bool, error) {
	if err := messaging.ValidateMark(team, id, worker, state, at); err != nil {
		return false, err
	}
	set, where := messaging.MarkSQL(state, "?1")
	var changed bool
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE msg_recipients SET `+set+`
			WHERE team = ?2 AND id = ?3 AND worker = ?4 AND `+where,
			ns(messaging.Stamp(at)), team, id, worker)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = true
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM msg_recipients WHERE team = ? AND id = ? AND worker = ?`,
			team, id, worker).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
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
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE msg_recipients SET state = 4, expired = expires
			WHERE (team, id, worker) IN (SELECT team, id, worker FROM msg_recipients
				WHERE state < 2 AND expires <= ? ORDER BY expires LIMIT ?)
			RETURNING team, id, worker, expires`, ns(messaging.Stamp(now)), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e messaging.Expired
			var at int64
			if err := rows.Scan(&e.Team, &e.ID, &e.Worker, &at); err != nil {
				return err
			}
			e.At = fromNS(at)
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
	b := ns(messaging.Stamp(before))
	return wrap("prune messages", s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM msg_recipients WHERE expires < ?`, b); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM msg_messages WHERE expires < ?`, b)
		return err
	}))
}
