package history

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Record is one accepted position as the history keeps it. Its fix time, by
// which it is partitioned, ordered and queried, is Position.TimeStamp.
type Record struct {
	Position tracking.Position
	// Received is when the ingesting replica accepted the record.
	Received time.Time
}

// Query selects records of one team.
type Query struct {
	Team string
	// Worker, when set, keeps only that worker's records.
	Worker string
	// From and To bound the fix time: From <= TimeStamp < To.
	From, To time.Time
	// Limit is the most records a Page holds; it must be positive.
	Limit int
	// Cursor is a previous Page's Next: the page starts after the last
	// record of that page. Empty: from the start of the range.
	Cursor string
}

// Page is one page of a query's answer.
type Page struct {
	// Records in fix-time order, then by worker, then by id (byte order).
	Records []Record
	// Next is the Cursor of the following page; "" when this page is the last.
	Next string
}

// Store keeps the position history of every team. Implementations:
// sqlitehistory and pghistory; each runs the conformance suite in
// historytest. All methods are safe for concurrent use.
//
// Times are kept at least to the microsecond (PostgreSQL: microseconds,
// truncated; SQLite: nanoseconds): a record's TimeStamp and Received come
// back equal to what was written, truncated to the backend's precision, in UTC.
type Store interface {
	// Write stores recs. It is idempotent: a record with the same team,
	// worker, id and fix time as one already stored is not stored again (the
	// first one written stays), so a batch may be retried after a failure or
	// a timeout (a retried record has the same worker). Records of two
	// workers are two records even with the same id and fix time: a worker
	// cannot hide another's record by reusing its id.
	// Either every record of recs is stored when Write returns nil, or the
	// caller should retry the whole batch.
	Write(ctx context.Context, recs []Record) error

	// Query returns the records of q.Team (and q.Worker, if set) whose fix
	// time is in [q.From, q.To), in fix-time order, then worker, then id, at
	// most q.Limit of them, and the cursor of the next page. Following the
	// cursors covers every matching record exactly once, even among records
	// of equal fix times. A record written after a page was read may be seen
	// by a later page only if it sorts after that page's cursor. A malformed
	// query or cursor is an *tracking.Error with code invalid_field or
	// bad_request naming the field.
	Query(ctx context.Context, q Query) (Page, error)

	// Prune is retention: it drops, whole, every time partition (a UTC day)
	// that ends at or before before, and nothing else. It never deletes rows
	// one by one, so a partition that before cuts through is kept whole.
	Prune(ctx context.Context, before time.Time) error

	// Ready returns nil when the database is reachable.
	Ready(ctx context.Context) error

	// Close releases the database. It is idempotent.
	Close() error
}

// Validate checks q and returns its cursor key (zero without a cursor). The
// error names the offending field.
func (q *Query) Validate() (Key, error) {
	if err := tracking.ValidTeam(q.Team); err != nil {
		return Key{}, err
	}
	if q.Worker != "" {
		if err := tracking.ValidateID("worker", q.Worker, 64); err != nil {
			return Key{}, err
		}
	}
	if q.From.IsZero() {
		return Key{}, fieldErr("from", "is required")
	}
	if q.To.IsZero() {
		return Key{}, fieldErr("to", "is required")
	}
	if !q.To.After(q.From) {
		return Key{}, fieldErr("to", "must be after from (%s)", q.From.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit <= 0 {
		return Key{}, fieldErr("limit", "must be positive, got %d", q.Limit)
	}
	if q.Cursor == "" {
		return Key{}, nil
	}
	return ParseCursor(q.Cursor)
}

func fieldErr(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Key is the position of a record in a query's order: a page's cursor is
// the key of its last record, and the next page starts after it.
type Key struct {
	Time   time.Time
	Worker string
	ID     string
}

// KeyOf returns the key of r.
func KeyOf(r *Record) Key {
	return Key{Time: r.Position.TimeStamp, Worker: r.Position.WorkerID, ID: r.Position.ID}
}

// IsZero reports whether k is the zero Key (no cursor).
func (k Key) IsZero() bool { return k.Time.IsZero() && k.Worker == "" && k.ID == "" }

// Cursor encodes k as an opaque, URL-safe cursor.
func (k Key) Cursor() string {
	s := strconv.FormatInt(k.Time.UnixNano(), 10) + "\x00" + k.Worker + "\x00" + k.ID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseCursor decodes a cursor made by Key.Cursor.
func ParseCursor(c string) (Key, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	bad := fieldErr("cursor", "is not a cursor of this API (pass a page's next unchanged)")
	if err != nil {
		return Key{}, bad
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return Key{}, bad
	}
	ns, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || tracking.ValidateID("worker", parts[1], 64) != nil || tracking.ValidateID("id", parts[2], 128) != nil {
		return Key{}, bad
	}
	return Key{Time: time.Unix(0, ns).UTC(), Worker: parts[1], ID: parts[2]}, nil
}

// Less reports whether a sorts before b in a query's order.
func (k Key) Less(b Key) bool {
	if c := k.Time.Compare(b.Time); c != 0 {
		return c < 0
	}
	if k.Worker != b.Worker {
		return k.Worker < b.Worker
	}
	return k.ID < b.ID
}

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("history: store closed")

// Day is the UTC day (midnight) of t: the time partition t falls in.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Grow returns recs with room for more records, for a backend filling a
// page: the capacity quadruples (fewer copies of a large page than append's
// doubling), up to limit.
func Grow(recs []Record, limit int) []Record {
	n := min(max(4*cap(recs), 1024), max(limit, cap(recs)+1))
	out := make([]Record, len(recs), n)
	copy(out, recs)
	return out
}
