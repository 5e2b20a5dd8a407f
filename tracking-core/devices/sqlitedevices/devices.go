package sqlitedevices

import (
	"context"
	"database/sql"
	"errors"

	"github.com/teamtrack/tracking-core/devices"
)

const columns = `id, team, worker, label, secret, created, updated`

// Put implements devices.Store.
func (s *Store) Put(ctx context.Context, d devices.Device) (devices.Device, bool, error) {
	d, err := devices.Prepare(d)
	if err != nil {
		return devices.Device{}, false, err
	}
	var created bool
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT created FROM dev_devices WHERE id = ?`, d.ID).Scan(&at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO dev_devices (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.Team, d.Worker, d.Label, d.SecretHash, ns(d.CreatedAt), ns(d.UpdatedAt))
			return err
		case err != nil:
			return err
		}
		d.CreatedAt = fromNS(at)
		_, err = tx.ExecContext(ctx, `UPDATE dev_devices SET team = ?, worker = ?, label = ?, secret = ?, updated = ?
			WHERE id = ?`, d.Team, d.Worker, d.Label, d.SecretHash, ns(d.UpdatedAt), d.ID)
		return err
	})
	if err != nil {
		return devices.Device{}, false, wrap("put device", err)
	}
	return d, created, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (devices.Device, error) {
	var d devices.Device
	var created, updated int64
	if err := r.Scan(&d.ID, &d.Team, &d.Worker, &d.Label, &d.SecretHash, &created, &updated); err != nil {
		return devices.Device{}, err
	}
	if len(d.SecretHash) == 0 {
		d.SecretHash = nil
	}
	d.CreatedAt, d.UpdatedAt = fromNS(created), fromNS(updated)
	return d, nil
}

// Get implements devices.Store.
func (s *Store) Get(ctx context.Context, id string) (devices.Device, error) {
	if err := devices.ValidID(id); err != nil {
		return devices.Device{}, err
	}
	if s.db.Closed() {
		return devices.Device{}, devices.ErrClosed
	}
	d, err := scan(s.db.R.QueryRowContext(ctx, `SELECT `+columns+` FROM dev_devices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return devices.Device{}, devices.NotFound(id)
	}
	return d, wrap("get device", err)
}

// List implements devices.Store.
func (s *Store) List(ctx context.Context, team, after string, limit int) ([]devices.Device, error) {
	if err := devices.ValidateList(team, after, limit); err != nil {
		return nil, err
	}
	if s.db.Closed() {
		return nil, devices.ErrClosed
	}
	q, args := `SELECT `+columns+` FROM dev_devices WHERE id > ? ORDER BY id LIMIT ?`, []any{after, limit}
	if team != "" {
		q, args = `SELECT `+columns+` FROM dev_devices WHERE team = ? AND id > ? ORDER BY id LIMIT ?`, []any{team, after, limit}
	}
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list devices", err)
	}
	defer rows.Close()
	out := make([]devices.Device, 0, min(limit, 64))
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, wrap("list devices", err)
		}
		out = append(out, d)
	}
	return out, wrap("list devices", rows.Err())
}

// Delete implements devices.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := devices.ValidID(id); err != nil {
		return err
	}
	return wrap("delete device", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dev_devices WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return devices.NotFound(id)
		}
		return nil
	}))
}
