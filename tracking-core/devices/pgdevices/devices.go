package pgdevices

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teamtrack/tracking-core/devices"
)

const columns = `id, team, worker, label, secret, created, updated`

// putAttempts bounds the insert-or-update rounds of a Put that concurrent
// Deletes keep undoing; each lost round needs a Delete of that very id.
const putAttempts = 5

// Put implements devices.Store.
func (s *Store) Put(ctx context.Context, d devices.Device) (devices.Device, bool, error) {
	d, err := devices.Prepare(d)
	if err != nil {
		return devices.Device{}, false, err
	}
	if err := s.ready(ctx); err != nil {
		return devices.Device{}, false, err
	}
	for range putAttempts {
		tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.devices+` (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO NOTHING`, d.ID, d.Team, d.Worker, d.Label, d.SecretHash, d.CreatedAt, d.UpdatedAt)
		if err != nil {
			return devices.Device{}, false, wrap("put device", err)
		}
		if tag.RowsAffected() == 1 {
			return d, true, nil
		}
		err = s.pool.QueryRow(ctx, `UPDATE `+s.devices+` SET team = $2, worker = $3, label = $4, secret = $5, updated = $6
			WHERE id = $1 RETURNING created`, d.ID, d.Team, d.Worker, d.Label, d.SecretHash, d.UpdatedAt).Scan(&d.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // deleted since the insert: insert again
		}
		if err != nil {
			return devices.Device{}, false, wrap("put device", err)
		}
		d.CreatedAt = d.CreatedAt.UTC()
		return d, false, nil
	}
	return devices.Device{}, false, fmt.Errorf("pgdevices: put device %s: deleted concurrently %d times in a row", d.ID, putAttempts)
}

func scan(r pgx.Row) (devices.Device, error) {
	var d devices.Device
	if err := r.Scan(&d.ID, &d.Team, &d.Worker, &d.Label, &d.SecretHash, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return devices.Device{}, err
	}
	if len(d.SecretHash) == 0 {
		d.SecretHash = nil
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

// Get implements devices.Store.
func (s *Store) Get(ctx context.Context, id string) (devices.Device, error) {
	if err := devices.ValidID(id); err != nil {
		return devices.Device{}, err
	}
	if err := s.ready(ctx); err != nil {
		return devices.Device{}, err
	}
	d, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM `+s.devices+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return devices.Device{}, devices.NotFound(id)
	}
	return d, wrap("get device", err)
}

// List implements devices.Store.
func (s *Store) List(ctx context.Context, team, after string, limit int) ([]devices.Device, error) {
	if err := devices.ValidateList(team, after, limit); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	q, args := `SELECT `+columns+` FROM `+s.devices+` WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, limit}
	if team != "" {
		q, args = `SELECT `+columns+` FROM `+s.devices+` WHERE team = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{team, after, limit}
	}
	rows, err := s.pool.Query(ctx, q, args...)
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
	if err := s.ready(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.devices+` WHERE id = $1`, id)
	if err != nil {
		return wrap("delete device", err)
	}
	if tag.RowsAffected() == 0 {
		return devices.NotFound(id)
	}
	return nil
}
