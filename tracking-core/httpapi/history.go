package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/history"
)

// Limits of GET /tracking/{team}/history.
const (
	historyDefaultLimit = 10_000
	historyMaxLimit     = 100_000
)

// handleHistory serves GET /tracking/{team}/history: one page of a team's
// (or, with worker, one worker's) durable history in [from, to) as JSON,
// GeoJSON or GPX, with the next page in a Link header (and in JSON's next).
// Who may read it is who may watch the team (authed, auth.Claims.CanWatch):
// managers their teams, admins every team, workers nobody's.
func (a *API) handleHistory(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	h, ok := a.historyOr501(w)
	if !ok {
		return
	}
	q, format, err := parseHistoryQuery(r, time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := h.Store().Query(r.Context(), q)
	if err != nil {
		if te := (*tracking.Error)(nil); !errors.As(err, &te) {
			a.log.Warn("history query", "team", q.Team, "err", err)
			err = &tracking.Error{Code: tracking.CodeUnavailable, Message: "the history store is unavailable, retry later", Err: err}
		}
		writeError(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", format.ContentType())
	hd.Set("Cache-Control", "no-store")
	if page.Next != "" {
		hd.Set("Link", nextLink(r.URL.Query(), page.Next))
	}
	if r.URL.Query().Get("download") == "1" {
		name := q.Team
		if q.Worker != "" {
			name += "-" + q.Worker
		}
		name += "-" + q.From.UTC().Format("20060102T150405Z") + "." + format.Extension()
		hd.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name)) // ids need no escaping
	}
	w.WriteHeader(http.StatusOK)
	if err := history.Encode(w, format, page, q.Worker != ""); err != nil {
		a.log.Debug("history response", "team", q.Team, "err", err)
	}
}

// historyOr501 returns the history, or answers 501 when there is none.
func (a *API) historyOr501(w http.ResponseWriter) (*history.Writer, bool) {
	if a.cfg.History == nil {
		writeError(w, tracking.Errorf(tracking.CodeNotImplemented,
			"durable history is not configured on this service (HISTORY_DSN is unset)"))
		return nil, false
	}
	return a.cfg.History, true
}

// parseHistoryQuery reads worker, from, to (default now), format, limit
// and cursor; an error names the parameter.
func parseHistoryQuery(r *http.Request, now time.Time) (history.Query, history.Format, error) {
	v := r.URL.Query()
	q := history.Query{Team: r.PathValue("team"), Worker: v.Get("worker"), Cursor: v.Get("cursor"), Limit: historyDefaultLimit}
	var err error
	if q.From, err = parseTime(v, "from", time.Time{}); err != nil {
		return q, "", err
	}
	if q.To, err = parseTime(v, "to", now); err != nil {
		return q, "", err
	}
	if !q.To.After(q.From) {
		return q, "", paramError("to", "must be after from")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > historyMaxLimit {
			return q, "", paramError("limit", "must be a whole number from 1 to %d, got %q", historyMaxLimit, clipParam(s))
		}
		q.Limit = n
	}
	if q.Worker != "" {
		if err := tracking.ValidateID("worker", q.Worker, 64); err != nil {
			return q, "", err
		}
	}
	format, ok := history.ParseFormat(v.Get("format"))
	if !ok {
		return q, "", paramError("format", "must be json, geojson or gpx, got %q", clipParam(v.Get("format")))
	}
	return q, format, nil
}

func parseTime(v url.Values, name string, def time.Time) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		if def.IsZero() {
			return def, paramError(name, "is required (RFC 3339, e.g. 2026-11-22T13:00:00Z)")
		}
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, paramError(name, "must be an RFC 3339 time such as 2026-11-22T13:00:00Z, got %q", clipParam(s))
	}
	return t, nil
}

func paramError(name, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeBadRequest, Field: name, Message: fmt.Sprintf(format, args...)}
}

func clipParam(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// nextLink is the Link header of the next page: the same query with the
// cursor, relative to the request's path (so it is right behind the
// gateway, which rewrites the prefix), without any access_token.
func nextLink(v url.Values, next string) string {
	v.Del("access_token")
	v.Set("cursor", next)
	return "<?" + strings.ReplaceAll(v.Encode(), ">", "%3E") + `>; rel="next"`
}
