package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/auth"
)

// Alerts is what the events and webhooks endpoints need (Config.Alerts).
type Alerts struct {
	// Store keeps the events, the webhooks and their dead letters.
	Store alerting.Store
	// AllowHTTP allows plain http webhook URLs to hosts that are not
	// loopback (WEBHOOK_ALLOW_HTTP, webhook.CheckURL).
	AllowHTTP bool
	// Notify, when set, is called after dead letters are replayed so that
	// they go out at once (webhook.Dispatcher.Notify).
	Notify func()
	// PushKey, when set, returns the VAPID public key browsers subscribe
	// with (webpush.Sender.PublicKey), and the Web Push routes are served
	// (push.go); nil: they answer 501.
	PushKey func(ctx context.Context) (string, error)
}

// Limits of GET /tracking/{team}/events and of dead-letter pages.
const (
	eventsDefaultLimit      = 1000
	eventsMaxLimit          = 10_000
	deadLettersDefaultLimit = 100
	deadLettersMaxLimit     = 1000
)

// alertsOr501 returns the alerts, or answers 501 when there are none.
func (a *API) alertsOr501(w http.ResponseWriter) (*Alerts, bool) {
	if a.cfg.Alerts == nil || a.cfg.Alerts.Store == nil {
		writeError(w, tracking.Errorf(tracking.CodeNotImplemented,
			"alerts, geofences and webhooks are not configured on this service (HISTORY_DSN is unset)"))
		return nil, false
	}
	return a.cfg.Alerts, true
}

// storeError answers err from the alerting store (storeFailure).
func (a *API) storeError(w http.ResponseWriter, what, team string, err error) {
	a.storeFailure(w, "the alerting store", what, err, "team", team)
}

// storeFailure answers err from a store (named store, for the answer and
// the log): a domain error as it is, anything else (the database) logged
// with attrs and answered 503.
func (a *API) storeFailure(w http.ResponseWriter, store, what string, err error, attrs ...any) {
	if te := (*tracking.Error)(nil); !errors.As(err, &te) {
		a.log.Warn(store+": "+what, append(attrs, "err", err)...)
		err = &tracking.Error{Code: tracking.CodeUnavailable, Message: store + " is unavailable, retry later", Err: err}
	}
	writeError(w, err)
}

// handleEvents serves GET /tracking/{team}/events: a page of the team's
// alert events with from <= time < to, in time order, each its canonical
// record, with the next page in a Link header and in next. Who: as the
// history (managers of the team, admins).
func (a *API) handleEvents(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := alerting.EventQuery{Team: r.PathValue("team"), Cursor: v.Get("cursor"), Limit: eventsDefaultLimit}
	var err error
	if q.From, err = parseTime(v, "from", time.Time{}); err == nil {
		q.To, err = parseTime(v, "to", time.Now())
	}
	if err == nil && !q.To.After(q.From) {
		err = paramError("to", "must be after from")
	}
	if err == nil {
		q.Limit, err = parseLimit(v.Get("limit"), eventsDefaultLimit, eventsMaxLimit)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	page, err := al.Store.QueryEvents(r.Context(), q)
	if err != nil {
		a.storeError(w, "query events", q.Team, err)
		return
	}
	buf := []byte(`{"events":[`)
	for i, e := range page.Events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.JSON...)
	}
	buf = append(buf, `],"next":`...)
	buf = strconv.AppendQuote(buf, page.Next)
	buf = append(buf, "}\n"...)
	if page.Next != "" {
		w.Header().Set("Link", nextLink(r.URL.Query(), page.Next))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf)
}

func parseLimit(s string, def, most int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, paramError("limit", "must be a whole number from 1 to %d, got %q", most, clipParam(s))
	}
	return n, nil
}
