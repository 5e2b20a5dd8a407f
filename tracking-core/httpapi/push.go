package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/auth"
)

// The Web Push routes: a manager's browser subscribes (the view, after the
// manager allowed notifications) and the team's alert events are pushed to
// it (webpush.Sender through the webhooks' outbox). Who: as the webhooks
// (managers of the team, admins).
func (a *API) pushRoutes(mux *router) {
	mux.HandleFunc("GET /tracking/{team}/push/key", a.authed(true, a.handlePushKey))
	mux.HandleFunc("GET /tracking/{team}/push/subscriptions", a.authed(true, a.handlePushSubscriptions))
	mux.HandleFunc("POST /tracking/{team}/push/subscriptions", a.authed(true, a.handlePushSubscribe))
	mux.HandleFunc("GET /tracking/{team}/push/subscriptions/{id}", a.authed(true, a.handlePushSubscription))
	mux.HandleFunc("DELETE /tracking/{team}/push/subscriptions/{id}", a.authed(true, a.handlePushUnsubscribe))
	mux.HandleFunc("GET /tracking/{team}/push/subscriptions/{id}/dead-letters", a.authed(true, a.handlePushDeadLetters))
}

// pushOr501 returns the alerts when Web Push is on, or answers 501.
func (a *API) pushOr501(w http.ResponseWriter) (*Alerts, bool) {
	al, ok := a.alertsOr501(w)
	if ok && al.PushKey == nil {
		writeError(w, tracking.Errorf(tracking.CodeNotImplemented, "Web Push is not configured on this service"))
		return nil, false
	}
	return al, ok
}

// pushView is a push subscription as the API shows it: not its keys.
type pushView struct {
	ID        string    `json:"id"`
	Endpoint  string    `json:"endpoint"`
	Subject   string    `json:"subject"`
	Kinds     []string  `json:"kinds"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func pushViewOf(p alerting.PushSubscription) pushView {
	kinds := p.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	return pushView{ID: p.ID, Endpoint: p.Endpoint, Subject: p.Subject, Kinds: kinds, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// pushBody is what POST takes: PushSubscription.toJSON() of the browser,
// and optionally kinds.
type pushBody struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is part of toJSON(); push services set none in
	// practice, and an expired subscription is deleted on the push
	// service's 404 or 410 anyway: ignored.
	ExpirationTime json.RawMessage `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
	Kinds []string `json:"kinds"`
}

// handlePushKey serves GET /tracking/{team}/push/key: {"publicKey":"B..."},
// the VAPID public key (unpadded base64url) to pass to
// pushManager.subscribe as applicationServerKey.
func (a *API) handlePushKey(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	k, err := al.PushKey(r.Context())
	if err != nil {
		a.storeError(w, "VAPID key", r.PathValue("team"), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"publicKey": k})
}

// handlePushSubscriptions serves GET /tracking/{team}/push/subscriptions.
func (a *API) handlePushSubscriptions(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	subs, err := al.Store.ListPushSubscriptions(r.Context(), team)
	if err != nil {
		a.storeError(w, "list push subscriptions", team, err)
		return
	}
	out := make([]pushView, 0, len(subs))
	for _, p := range subs {
		out = append(out, pushViewOf(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": out})
}

// handlePushSubscribe serves POST /tracking/{team}/push/subscriptions: 201
// with Location for a new subscription, 200 when the team had one with that
// endpoint (the browser subscribed again: its keys are replaced).
func (a *API) handlePushSubscribe(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	var b pushBody
	if err := decodeBody(w, r, &b, false); err != nil {
		writeError(w, err)
		return
	}
	p := alerting.PushSubscription{Team: team, Endpoint: b.Endpoint, P256dh: b.Keys.P256dh, Auth: b.Keys.Auth, Kinds: b.Kinds}
	if c != nil && !c.Anonymous {
		p.Subject = c.Subject
	}
	saved, created, err := al.Store.PutPushSubscription(r.Context(), p)
	if err != nil {
		a.storeError(w, "put push subscription", team, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "subscriptions/"+saved.ID) // relative: right behind the gateway too
		a.log.Info("web push: subscribed", "team", team, "subscription", saved.ID, "subject", saved.Subject)
	}
	writeJSON(w, status, pushViewOf(saved))
}

// handlePushSubscription serves GET /tracking/{team}/push/subscriptions/{id}.
func (a *API) handlePushSubscription(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	p, err := al.Store.GetPushSubscription(r.Context(), team, r.PathValue("id"))
	if err != nil {
		a.storeError(w, "get push subscription", team, pushNotFound(err))
		return
	}
	writeJSON(w, http.StatusOK, pushViewOf(p))
}

// handlePushUnsubscribe serves DELETE /tracking/{team}/push/subscriptions/{id}:
// the subscription, its queued pushes and dead letters (204).
func (a *API) handlePushUnsubscribe(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if err := al.Store.DeletePushSubscription(r.Context(), team, id); err != nil {
		a.storeError(w, "delete push subscription", team, pushNotFound(err))
		return
	}
	a.log.Info("web push: unsubscribed", "team", team, "subscription", id)
	w.WriteHeader(http.StatusNoContent)
}

// handlePushDeadLetters serves GET /tracking/{team}/push/subscriptions/{id}/dead-letters:
// the pushes that the push service refused for good or that failed every
// attempt, oldest first, as the webhooks' dead letters.
func (a *API) handlePushDeadLetters(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.pushOr501(w)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := alerting.DeadLetterQuery{Team: r.PathValue("team"), WebhookID: r.PathValue("id"), Target: alerting.TargetWebPush, Cursor: v.Get("cursor")}
	var err error
	if q.Limit, err = parseLimit(v.Get("limit"), deadLettersDefaultLimit, deadLettersMaxLimit); err != nil {
		writeError(w, err)
		return
	}
	if tracking.ValidateID("webhook", q.WebhookID, 64) != nil {
		writeError(w, tracking.Errorf(tracking.CodeNotFound, "no such push subscription"))
		return
	}
	page, err := al.Store.DeadLetters(r.Context(), q)
	if err != nil {
		a.storeError(w, "push dead letters", q.Team, err)
		return
	}
	out := make([]deadLetterView, 0, len(page.DeadLetters))
	for _, dl := range page.DeadLetters {
		out = append(out, deadLetterView{ID: dl.ID, Event: dl.Event.JSON, Attempts: dl.Attempts, LastError: dl.LastError, DeadAt: dl.DeadAt})
	}
	if page.Next != "" {
		w.Header().Set("Link", nextLink(r.URL.Query(), page.Next))
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadLetters": out, "next": page.Next})
}

// pushNotFound: a malformed id in the path is a subscription that does not
// exist.
func pushNotFound(err error) error {
	var te *tracking.Error
	if errors.As(err, &te) && te.Field == "id" {
		return tracking.Errorf(tracking.CodeNotFound, "no such push subscription")
	}
	return err
}
