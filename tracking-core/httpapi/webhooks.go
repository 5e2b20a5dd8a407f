package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/alerting/webhook"
	"github.com/teamtrack/tracking-core/auth"
)

// webhookView is a webhook as the API shows it: never its secret.
type webhookView struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Kinds     []string  `json:"kinds"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func viewOf(w alerting.Webhook) webhookView {
	kinds := w.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	return webhookView{ID: w.ID, URL: w.URL, Kinds: kinds, Enabled: w.Enabled, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// webhookBody is what POST and PUT take. Secret is write-only; Enabled
// defaults to true.
type webhookBody struct {
	URL     string   `json:"url"`
	Secret  string   `json:"secret"`
	Kinds   []string `json:"kinds"`
	Enabled *bool    `json:"enabled"`
}

const maxAlertsBody = 64 << 10

// decodeBody reads one JSON object of at most maxAlertsBody bytes into v,
// refusing unknown fields; an empty body is allowed when emptyOK.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	return decodeBodyUpTo(w, r, v, emptyOK, maxAlertsBody)
}

// decodeBodyUpTo is decodeBody with a limit of limit bytes.
func decodeBodyUpTo(w http.ResponseWriter, r *http.Request, v any, emptyOK bool, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return tracking.Errorf(tracking.CodeTooLarge, "the body exceeds %d bytes", limit)
		}
		return tracking.Errorf(tracking.CodeBadRequest, "the body could not be read")
	}
	if emptyOK && strings.TrimSpace(string(body)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return &tracking.Error{Code: tracking.CodeInvalidField, Field: te.Field, Message: "must be a JSON " + te.Type.Kind().String()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &tracking.Error{Code: tracking.CodeInvalidField, Field: name, Message: "is not a field of this object"}
		}
		return tracking.Errorf(tracking.CodeInvalidJSON, "the body is not a JSON object")
	}
	if dec.More() {
		return tracking.Errorf(tracking.CodeInvalidJSON, "the body holds more than one JSON value")
	}
	return nil
}

// handleWebhooks serves GET /tracking/{team}/webhooks: the team's webhooks.
func (a *API) handleWebhooks(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	hooks, err := al.Store.ListWebhooks(r.Context(), team)
	if err != nil {
		a.storeError(w, "list webhooks", team, err)
		return
	}
	out := make([]webhookView, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, viewOf(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

// handleWebhookPut serves POST /tracking/{team}/webhooks (create: 201 with
// Location; secret required) and PUT /tracking/{team}/webhooks/{id}
// (replace: an absent secret keeps the stored one).
func (a *API) handleWebhookPut(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	var b webhookBody
	if err := decodeBody(w, r, &b, false); err != nil {
		writeError(w, err)
		return
	}
	if err := webhook.CheckURL(b.URL, al.AllowHTTP); err != nil {
		writeError(w, err)
		return
	}
	hook := alerting.Webhook{Team: team, ID: id, URL: b.URL, Secret: b.Secret, Kinds: b.Kinds, Enabled: b.Enabled == nil || *b.Enabled}
	if id != "" {
		if err := tracking.ValidateID("id", id, 64); err != nil {
			writeError(w, &tracking.Error{Code: tracking.CodeNotFound, Message: fmt.Sprintf("no webhook %s in team %s", clipParam(id), team)})
			return
		}
	}
	saved, err := al.Store.PutWebhook(r.Context(), hook)
	if err != nil {
		a.storeError(w, "put webhook", team, err)
		return
	}
	status := http.StatusOK
	if id == "" {
		status = http.StatusCreated
		w.Header().Set("Location", saved.ID) // relative: right behind the gateway too
	}
	writeJSON(w, status, viewOf(saved))
}

// handleWebhook serves GET /tracking/{team}/webhooks/{id}.
func (a *API) handleWebhook(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	hook, err := al.Store.GetWebhook(r.Context(), team, r.PathValue("id"))
	if err != nil {
		a.storeError(w, "get webhook", team, notFoundID(err))
		return
	}
	writeJSON(w, http.StatusOK, viewOf(hook))
}

// handleWebhookDelete serves DELETE /tracking/{team}/webhooks/{id}: the
// webhook, its queued deliveries and its dead letters.
func (a *API) handleWebhookDelete(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	if err := al.Store.DeleteWebhook(r.Context(), team, r.PathValue("id")); err != nil {
		a.storeError(w, "delete webhook", team, notFoundID(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// notFoundID: a malformed id in the path is a webhook that does not exist.
func notFoundID(err error) error {
	var te *tracking.Error
	if errors.As(err, &te) && te.Field == "id" {
		return tracking.Errorf(tracking.CodeNotFound, "no such webhook")
	}
	return err
}

type deadLetterView struct {
	ID        int64           `json:"id"`
	Event     json.RawMessage `json:"event"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"lastError"`
	DeadAt    time.Time       `json:"deadAt"`
}

// handleDeadLetters serves GET /tracking/{team}/webhooks/{id}/dead-letters:
// a page of the webhook's dead letters, oldest first.
func (a *API) handleDeadLetters(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := alerting.DeadLetterQuery{Team: r.PathValue("team"), WebhookID: r.PathValue("id"), Cursor: v.Get("cursor")}
	var err error
	if q.Limit, err = parseLimit(v.Get("limit"), deadLettersDefaultLimit, deadLettersMaxLimit); err != nil {
		writeError(w, err)
		return
	}
	if tracking.ValidateID("webhook", q.WebhookID, 64) != nil {
		writeError(w, tracking.Errorf(tracking.CodeNotFound, "no such webhook"))
		return
	}
	page, err := al.Store.DeadLetters(r.Context(), q)
	if err != nil {
		a.storeError(w, "dead letters", q.Team, err)
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

// handleDeadLetterReplay serves POST /tracking/{team}/webhooks/{id}/dead-letters/replay:
// body {"ids":[...]} puts those dead letters back in the outbox; an empty
// body (or {}) puts back all of them.
func (a *API) handleDeadLetterReplay(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	var b struct {
		IDs []int64 `json:"ids"`
	}
	if err := decodeBody(w, r, &b, true); err != nil {
		writeError(w, err)
		return
	}
	if len(b.IDs) > 10_000 {
		writeError(w, &tracking.Error{Code: tracking.CodeInvalidField, Field: "ids", Message: "must list at most 10000 ids (or none for all)"})
		return
	}
	if tracking.ValidateID("webhook", id, 64) != nil {
		writeError(w, tracking.Errorf(tracking.CodeNotFound, "no such webhook"))
		return
	}
	n, err := al.Store.Replay(r.Context(), team, id, b.IDs)
	if err != nil {
		a.storeError(w, "replay dead letters", team, err)
		return
	}
	if n > 0 && al.Notify != nil {
		al.Notify()
	}
	writeJSON(w, http.StatusOK, map[string]int{"replayed": n})
}
