package pgalerting

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
)

// nextVersion takes the next definition version inside tx; the counter's
// row lock, held until tx ends, makes versions commit in order.
func (s *Store) nextVersion(ctx context.Context, tx pgx.Tx) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `UPDATE `+s.version+` SET v = v + 1 WHERE k = 1 RETURNING v`).Scan(&v)
	return v, err
}

// PutDefinition implements alerting.Store.
func (s *Store) PutDefinition(ctx context.Context, d alerting.Definition) (alerting.Definition, error) {
	if err := d.Validate(); err != nil {
		return d, err
	}
	d.UpdatedAt, d.Deleted = us(time.Now()).UTC(), false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if d.Version, err = s.nextVersion(ctx, tx); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+s.definitions+` (team, kind, id, version, updated, deleted, doc)
			VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT (team, kind, id) DO UPDATE SET
			version = excluded.version, updated = excluded.updated, deleted = false, doc = excluded.doc`,
			d.Team, d.Kind, d.ID, d.Version, d.UpdatedAt, d.JSON)
		return err
	})
	return d, wrap("put definition", err)
}

// DeleteDefinition implements alerting.Store.
func (s *Store) DeleteDefinition(ctx context.Context, team, kind, id string) (alerting.Definition, error) {
	d := alerting.Definition{Team: team, Kind: kind, ID: id, Deleted: true, UpdatedAt: us(time.Now()).UTC()}
	if err := alerting.ValidDefinitionKey(team, kind, id); err != nil {
		return d, err
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if d.Version, err = s.nextVersion(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE `+s.definitions+` SET version = $1, updated = $2, deleted = true, doc = NULL
			WHERE team = $3 AND kind = $4 AND id = $5 AND NOT deleted`, d.Version, d.UpdatedAt, team, kind, id)
		if err == nil && tag.RowsAffected() == 0 {
			return alerting.NotFound("no %s %s in team %s", kind, id, team) // rolls the version back
		}
		return err
	})
	return d, wrap("delete definition", err)
}

const definitionColumns = `team, kind, id, version, updated, deleted, doc`

func scanDefinitions(rows pgx.Rows) ([]alerting.Definition, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerting.Definition, error) {
		var d alerting.Definition
		err := r.Scan(&d.Team, &d.Kind, &d.ID, &d.Version, &d.UpdatedAt, &d.Deleted, &d.JSON)
		d.UpdatedAt = d.UpdatedAt.UTC()
		return d, err
	})
}

// GetDefinition implements alerting.Store.
func (s *Store) GetDefinition(ctx context.Context, team, kind, id string) (alerting.Definition, error) {
	if err := alerting.ValidDefinitionKey(team, kind, id); err != nil {
		return alerting.Definition{}, err
	}
	if err := s.ready(ctx); err != nil {
		return alerting.Definition{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+definitionColumns+` FROM `+s.definitions+`
		WHERE team = $1 AND kind = $2 AND id = $3 AND NOT deleted`, team, kind, id)
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
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+definitionColumns+` FROM `+s.definitions+`
		WHERE team = $1 AND kind = $2 AND NOT deleted ORDER BY id`, team, kind)
	if err != nil {
		return nil, wrap("list definitions", err)
	}
	defs, err := scanDefinitions(rows)
	return defs, wrap("list definitions", err)
}

// Changes implements alerting.Store, in one REPEATABLE READ snapshot so that
// the counter and the rows agree.
func (s *Store) Changes(ctx context.Context, since int64) (alerting.ChangeSet, error) {
	var cs alerting.ChangeSet
	if err := s.ready(ctx); err != nil {
		return cs, err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var horizon int64
		if err := tx.QueryRow(ctx, `SELECT v, horizon FROM `+s.version+` WHERE k = 1`).Scan(&cs.Version, &horizon); err != nil {
			return err
		}
		var rows pgx.Rows
		var err error
		if since <= 0 || since < horizon || since > cs.Version {
			cs.Full = true
			rows, err = tx.Query(ctx, `SELECT `+definitionColumns+` FROM `+s.definitions+` WHERE NOT deleted ORDER BY version`)
		} else {
			rows, err = tx.Query(ctx, `SELECT `+definitionColumns+` FROM `+s.definitions+` WHERE version > $1 ORDER BY version`, since)
		}
		if err != nil {
			return err
		}
		cs.Definitions, err = scanDefinitions(rows)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = errors.New("version row missing")
	}
	return cs, wrap("changes", err)
}
