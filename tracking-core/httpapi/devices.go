package httpapi

import (
	"net/http"
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/devices"
)

// deviceRequest is the body of POST /devices.
type deviceRequest struct {
	ID       string  `json:"id"`
	Team     string  `json:"team"`
	WorkerID string  `json:"workerId"`
	Label    string  `json:"label"`
	Secret   *string `json:"secret"` // absent: one is made and answered once
}

// deviceJSON is a device as the API shows it: never its secret, which is
// answered once, when it is made or set.
type deviceJSON struct {
	ID        string    `json:"id"`
	Team      string    `json:"team"`
	WorkerID  string    `json:"workerId"`
	Label     string    `json:"label,omitempty"`
	HasSecret bool      `json:"hasSecret"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func deviceOut(d devices.Device) deviceJSON {
	return deviceJSON{ID: d.ID, Team: d.Team, WorkerID: d.Worker, Label: d.Label, HasSecret: d.HasSecret(),
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// devicesOr501 returns the device store, or answers 501 without one.
func (a *API) devicesOr501(w http.ResponseWriter) (devices.Store, bool) {
	if a.cfg.Devices == nil {
		writeError(w, tracking.Errorf(tracking.CodeNotImplemented,
			"the device registry is not configured on this service (HISTORY_DSN is unset)"))
		return nil, false
	}
	return a.cfg.Devices, true
}

// admin refuses anyone but an admin (or anonymous claims, AUTH_MODE=none).
func admin(w http.ResponseWriter, c *auth.Claims) bool {
	if c != nil && (c.Anonymous || c.Role == auth.RoleAdmin) {
		return true
	}
	writeError(w, tracking.Errorf(tracking.CodeForbidden, "the device registry is for admins"))
	return false
}

// handleDevicePut serves POST /devices: registers a device, or replaces
// it (same id). Answers 201 (or 200 for a replacement) with the device and,
// when the request gave no secret, the one made for it.
func (a *API) handleDevicePut(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	store, ok := a.devicesOr501(w)
	if !ok || !admin(w, c) {
		return
	}
	var req deviceRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	secret := devices.NewSecret()
	if req.Secret != nil {
		secret = *req.Secret
		if err := devices.ValidateSecret(secret); err != nil {
			writeError(w, err)
			return
		}
	}
	d := devices.Device{ID: req.ID, Team: req.Team, Worker: req.WorkerID, Label: req.Label,
		SecretHash: devices.HashSecret(secret), UpdatedAt: time.Now()}
	stored, created, err := store.Put(r.Context(), d)
	if err != nil {
		a.deviceStoreError(w, "register device", err)
		return
	}
	a.phones.Invalidate(stored.ID)
	out := deviceOut(stored)
	if req.Secret == nil {
		out.Secret = secret
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	a.log.Info("device registered", "device", stored.ID, "team", stored.Team, "worker", stored.Worker, "created", created, "by", c)
	writeJSON(w, status, out)
}

// handleDevices serves GET /devices?team=&after=&limit=: the devices by id,
// a page at a time (next: the after of the next page).
func (a *API) handleDevices(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	store, ok := a.devicesOr501(w)
	if !ok || !admin(w, c) {
		return
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, &tracking.Error{Code: tracking.CodeInvalidField, Field: "limit", Message: "must be a whole number"})
			return
		}
		limit = n
	}
	ds, err := store.List(r.Context(), q.Get("team"), q.Get("after"), limit)
	if err != nil {
		a.deviceStoreError(w, "list devices", err)
		return
	}
	page := struct {
		Devices []deviceJSON `json:"devices"`
		Next    string       `json:"next,omitempty"`
	}{Devices: make([]deviceJSON, len(ds))}
	for i, d := range ds {
		page.Devices[i] = deviceOut(d)
	}
	if len(ds) == limit && limit > 0 {
		page.Next = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

// handleDevice serves GET /devices/{id...} (an OwnTracks id holds a '/').
func (a *API) handleDevice(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	store, ok := a.devicesOr501(w)
	if !ok || !admin(w, c) {
		return
	}
	d, err := store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.deviceStoreError(w, "get device", err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
}

// handleDeviceDelete serves DELETE /devices/{id...}: 204. Other replicas
// stop accepting the device within their cache's TTL.
func (a *API) handleDeviceDelete(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	store, ok := a.devicesOr501(w)
	if !ok || !admin(w, c) {
		return
	}
	id := r.PathValue("id")
	if err := store.Delete(r.Context(), id); err != nil {
		a.deviceStoreError(w, "delete device", err)
		return
	}
	a.phones.Invalidate(id)
	a.log.Info("device deleted", "device", id, "by", c)
	w.WriteHeader(http.StatusNoContent)
}

// deviceStoreError answers err from the device registry (storeFailure).
func (a *API) deviceStoreError(w http.ResponseWriter, what string, err error) {
	a.storeFailure(w, "the device registry", what, err)
}
