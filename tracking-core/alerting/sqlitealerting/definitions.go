package sqlitealerting

import (
	"context"
	"database/sql"
	"errors"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

func isDomain(err error) bool {
	var te *tracking.Error
	return errors.As(err, &te)
}

// nextVersion takes the next definition version inside tx: the write lock
// of the transaction serialises writers, so versions commit in order.
func nextVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE alert_version SET v = v + 1 WHERE k = 1 RETURNING v`).Scan(&v)
	return v, err
}

// PutDefinition implements alerting.Store.
func (s *Store) PutDefinition(ctx context.Context, d alerting.Definition) (alerting.Definition, error) {
	if err := d.Validate(); err != nil {
		return d, err
	}
	d.UpdatedAt, d.Deleted = time.Now().UTC(), false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if d.Version, err = nextVersion(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO alert_definitions (team, kind, id, version, updated, deleted, doc)
			VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT (team, kind, id) DO UPDATE SET
			version = excluded.version, updated = excluded.updated, deleted = 0, doc = excluded.doc`,
			d.Team, d.Kind, d.ID, d.Version, ns(d.UpdatedAt), d.JSON)
		return err
	})
	return d, wrap("put definition", err)
}

// DeleteDefinition implements alerting.Store.
func (s *Store) DeleteDefinition(ctx context.Context, team, kind, id string) (alerting.Definition, error) {
	d := alerting.Definition{Team: team, Kind: kind, ID: id, Deleted: true, UpdatedAt: time.Now().UTC()}
	if err := alerting.ValidDefinitionKey(team, kind, id); err != nil {
		return d, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT deleted FROM alert_definitions WHERE team = ? AND kind = ? AND id = ?`,
			team, kind, id).Scan(&deleted)
		if errors.Is(err, sql.ErrNoRows) || deleted {
			return alerting.NotFound("no %s %s in team %s", kind, id, team)
		}
		if err != nil {
			return err
		}
		if d.Version, err = nextVersion(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE alert_definitions SET version = ?, updated = ?, deleted = 1, doc = NULL
			WHERE team = ? AND kind = ? AND id = ?`, d.Version, ns(d.UpdatedAt), team, kind, id)
		return err
	})
	return d, wrap("delete definition", err)
}

// GetDefinition implements alerting.Store.
func (s *Store) GetDefinition(ctx context.Context, team, kind, id string) (alerting.Definition, error) {
	if err := alerting.ValidDefinitionKey(team, kind, id); err != nil {
		return alerting.Definition{}, err
	}
	if s.db.Closed() {
		return alerting.Definition{}, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT team, kind, id, version, updated, deleted, doc FROM alert_definitions
		WHERE team = ? AND kind = ? AND id = ? AND deleted = 0`, team, kind, id)
	if err != nil {
		return alerting.Definition{}, wrap("get definition", err)
	}
	defs, err := scanDefinitions(rows)
	if err != nil {
		return alerting.Definition{}, wrap("get definition", err)
	}
	if len(defs) == 0 {
		return alerting.Definition{}, alerting.NotFound("no %s %s in team %s", kind, id, team)
	}
	return defs[0], nil
}

// ListDefinitions implements alerting.Store.
func (s *Store) ListDefinitions(ctx context.Context, team, kind string) ([]alerting.Definition, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	if err := alerting.ValidKind("kind", kind); err != nil {
		return nil, err
	}
	if s.db.Closed() {
		return nil, alerting.ErrClosed
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT team, kind, id, version, updated, deleted, doc FROM alert_definitions
		WHERE team = ? AND kind = ? AND deleted = 0 ORDER BY id`, team, kind)
	if err != nil {
		return nil, wrap("list definitions", err)
	}
	defs, err := scanDefinitions(rows)
	return defs, wrap("list definitions", err)
}

// Changes implements alerting.Store: one read transaction, so that the
// counter and the rows are of one snapshot.
func (s *Store) Changes(ctx context.Context, since int64) (alerting.ChangeSet, error) {
	if s.db.Closed() {
		return alerting.ChangeSet{}, alerting.ErrClosed
	}
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return alerting.ChangeSet{}, wrap("changes", err)
	}
	defer func() { _ = tx.Rollback() }()
	var cs alerting.ChangeSet
	var horizon int64
	if err := tx.QueryRowContext(ctx, `SELECT v, horizon FROM alert_version WHERE k = 1`).Scan(&cs.Version, &horizon); err != nil {
		return cs, wrap("changes", err)
	}
	var rows *sql.Rows
	if since <= 0 || since < horizon || since > cs.Version {
		cs.Full = true
		rows, err = tx.QueryContext(ctx, `SELECT team, kind, id, version, updated, deleted, doc FROM alert_definitions
			WHERE deleted = 0 ORDER BY version`)
	} else {
		rows, err = tx.QueryContext(ctx, `SELECT team, kind, id, version, updated, deleted, doc FROM alert_definitions
			WHERE version > ? ORDER BY version`, since)
	}
	if err != nil {
		return cs, wrap("changes", err)
	}
	cs.Definitions, err = scanDefinitions(rows)
	return cs, wrap("changes", err)
}

func scanDefinitions(rows *sql.Rows) ([]alerting.Definition, error) {
	defer rows.Close()
	var out []alerting.Definition
	for rows.Next() {
		var d alerting.Definition
		var updated int64
		if err := rows.Scan(&d.Team, &d.Kind, &d.ID, &d.Version, &updated, &d.Deleted, &d.JSON); err != nil {
			return nil, err
		}
		d.UpdatedAt = fromNS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}
