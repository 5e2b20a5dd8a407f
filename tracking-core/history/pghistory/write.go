package pghistory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/teamtrack/tracking-core/history"
)

// A batch is one COPY straight into the partitioned table (PostgreSQL routes
// each row to its day): one statement, one round trip, no transaction around
// it, no staging. Only when that COPY fails on the primary key (some records
// are stored already: a retry after a timeout that had committed, or a batch
// holding a record twice) is the batch written again the idempotent way:
// COPY into a temporary staging table, then INSERT ... SELECT ... ON
// CONFLICT DO NOTHING. A failed COPY stores nothing.

const stagingTable = "history_staging"

const (
	codeUniqueViolation = "23505"
	codeNoPartition     = "23514" // check_violation: no partition for a row
)

// copyBufs holds encoded batches between writes (about 150 bytes a record).
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

// Write implements history.Store.
func (s *Store) Write(ctx context.Context, recs []history.Record) error {
	if s.closed.Load() {
		return history.ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	bp := copyBufs.Get().(*[]byte)
	*bp = appendCopyBinary((*bp)[:0], recs)
	err := s.write(ctx, recs, *bp)
	if pgCode(err) == codeNoPartition { // another replica pruned a day this Store knew
		s.mu.Lock()
		clear(s.known)
		s.mu.Unlock()
		err = s.write(ctx, recs, *bp)
	}
	if err != nil {
		// A COPY cut short (the server went away, ctx ended) may leave pgx's
		// goroutine still reading the buffer: it is not reused.
		return fmt.Errorf("pghistory: write %d records: %w", len(recs), err)
	}
	copyBufs.Put(bp)
	return nil
}

// write makes the partitions recs need, then COPYs data (recs encoded).
func (s *Store) write(ctx context.Context, recs []history.Record, data []byte) error {
	var last int64 = -1
	for i := range recs {
		if d := history.Day(recs[i].Position.TimeStamp); d.Unix() != last {
			if err := s.ensurePartition(ctx, d); err != nil {
				return err
			}
			last = d.Unix()
		}
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	pc := c.Conn().PgConn()
	_, err = pc.CopyFrom(ctx, bytes.NewReader(data), s.copyInto)
	if pgCode(err) != codeUniqueViolation {
		return err
	}
	s.fallbacks.Add(1)
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		// The staging table is made on the first fallback of a connection;
		// ON COMMIT DELETE ROWS empties it at the end of each.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+stagingTable+` (`+columnDefs+`) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("create staging: %w", err)
		}
		if _, err := pc.CopyFrom(ctx, bytes.NewReader(data), `COPY `+stagingTable+` (`+strings.Join(columns, ", ")+`) FROM STDIN (FORMAT binary)`); err != nil {
			return fmt.Errorf("copy into staging: %w", err)
		}
		cols := strings.Join(columns, ", ")
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.table+` (`+cols+`) SELECT `+cols+` FROM `+stagingTable+
			` ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("insert from staging: %w", err)
		}
		return nil
	})
}

// pgCode is the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
