package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/dispatch"
	"github.com/teamtrack/tracking-core/messaging"
)

// maxMessageRequest bounds POST .../messages: a 16 KiB body and up to
// 10,000 recipients of up to 64 bytes each.
const maxMessageRequest = 1 << 20

// defaultMessageTTL is the ttl of a message that gives none.
const defaultMessageTTL = time.Hour

// messageRequest is the body of POST /tracking/{team}/messages.
type messageRequest struct {
	ID   string          `json:"id"`
	To   json.RawMessage `json:"to"`
	Body json.RawMessage `json:"body"`
	TTL  string          `json:"ttl"`
}

// messageAnswer answers a POST: the id, and how many recipients have a live
// connection now and how many get it when they connect again.
type messageAnswer struct {
	ID     string `json:"id"`
	Online int    `json:"online"`
	Queued int    `json:"queued"`
}

// dispatchOr501 returns the Dispatcher, or answers 501 when there is none.
func (a *API) dispatchOr501(w http.ResponseWriter) (*dispatch.Dispatcher, bool) {
	if a.cfg.Dispatch == nil {
		writeError(w, tracking.Errorf(tracking.CodeNotImplemented,
			"messages to workers are not configured on this service (HISTORY_DSN is unset)"))
		return nil, false
	}
	return a.cfg.Dispatch, true
}

// parseMessageRequest turns the body into a dispatch request of team.
func parseMessageRequest(team string, c *auth.Claims, mr messageRequest) (dispatch.Request, error) {
	req := dispatch.Request{ID: mr.ID, Team: team, Sender: senderOf(c), Body: mr.Body, TTL: defaultMessageTTL}
	switch to := bytes.TrimSpace(mr.To); {
	case len(to) == 0 || bytes.Equal(to, []byte("null")):
		return req, &tracking.Error{Code: tracking.CodeInvalidField, Field: "to", Message: `is required: a list of workerIds or "all"`}
	case to[0] == '"':
		var s string
		if err := json.Unmarshal(to, &s); err != nil || s != "all" {
			return req, &tracking.Error{Code: tracking.CodeInvalidField, Field: "to", Message: `must be a list of workerIds or "all"`}
		}
		req.All = true
	default:
		if err := json.Unmarshal(to, &req.To); err != nil {
			return req, &tracking.Error{Code: tracking.CodeInvalidField, Field: "to", Message: `must be a list of workerIds or "all"`}
		}
	}
	if len(mr.Body) == 0 {
		return req, &tracking.Error{Code: tracking.CodeInvalidField, Field: "body", Message: "is required: a JSON object"}
	}
	if err := messaging.ValidateBody(mr.Body); err != nil {
		return req, err
	}
	if mr.TTL != "" {
		d, err := time.ParseDuration(mr.TTL)
		if err != nil {
			return req, &tracking.Error{Code: tracking.CodeInvalidField, Field: "ttl", Message: `must be a duration such as "10m", got ` + clipParam(mr.TTL)}
		}
		req.TTL = d
	}
	return req, nil
}

// senderOf names who sends a message: the token's subject.
func senderOf(c *auth.Claims) string {
	if c == nil || c.Anonymous || c.Subject == "" {
		return "anonymous"
	}
	return c.Subject
}

// handleMessageSend serves POST /tracking/{team}/messages (managers of the
// team, admins).
func (a *API) handleMessageSend(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	d, ok := a.dispatchOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	var mr messageRequest
	if err := decodeBodyUpTo(w, r, &mr, false, maxMessageRequest); err != nil {
		writeError(w, err)
		return
	}
	req, err := parseMessageRequest(team, c, mr)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := d.Send(r.Context(), req)
	if err != nil {
		a.messageStoreError(w, "send message", team, err)
		return
	}
	w.Header().Set("Location", "/tracking/"+team+"/messages/"+res.Message.ID)
	writeJSON(w, http.StatusCreated, messageAnswer{ID: res.Message.ID, Online: res.Online, Queued: res.Queued})
}

// recipientJSON is one recipient in GET .../messages/{id}.
type recipientJSON struct {
	WorkerID    string     `json:"workerId"`
	State       string     `json:"state"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	AckedAt     *time.Time `json:"ackedAt,omitempty"`
	ReadAt      *time.Time `json:"readAt,omitempty"`
	ExpiredAt   *time.Time `json:"expiredAt,omitempty"`
}

// messageJSON is GET /tracking/{team}/messages/{id}.
type messageJSON struct {
	ID         string          `json:"id"`
	Team       string          `json:"team"`
	Sender     string          `json:"sender"`
	Body       json.RawMessage `json:"body"`
	SentAt     time.Time       `json:"sentAt"`
	ExpiresAt  time.Time       `json:"expiresAt"`
	States     map[string]int  `json:"states"` // recipients per state
	Recipients []recipientJSON `json:"recipients"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// handleMessage serves GET /tracking/{team}/messages/{id}: the message and
// the delivery state of each recipient.
func (a *API) handleMessage(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	d, ok := a.dispatchOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	m, err := d.Get(r.Context(), team, id)
	if err != nil {
		a.messageStoreError(w, "get message", team, err)
		return
	}
	out := messageJSON{ID: m.ID, Team: m.Team, Sender: m.Sender, Body: m.Body, SentAt: m.CreatedAt, ExpiresAt: m.ExpiresAt,
		States: map[string]int{}, Recipients: make([]recipientJSON, len(m.Recipients))}
	for i, rc := range m.Recipients {
		out.States[string(rc.State)]++
		out.Recipients[i] = recipientJSON{WorkerID: rc.Worker, State: string(rc.State), DeliveredAt: timeOrNil(rc.DeliveredAt),
			AckedAt: timeOrNil(rc.AckedAt), ReadAt: timeOrNil(rc.ReadAt), ExpiredAt: timeOrNil(rc.ExpiredAt)}
	}
	writeJSON(w, http.StatusOK, out)
}

// messageStoreError answers err from the message store (storeFailure).
func (a *API) messageStoreError(w http.ResponseWriter, what, team string, err error) {
	a.storeFailure(w, "the message store", what, err, "team", team)
}
