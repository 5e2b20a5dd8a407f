package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/geofence"
)

// maxFenceBody bounds a fence's JSON: 10,000 positions at ~40 bytes each,
// with room to spare.
const maxFenceBody = 1 << 20

// fenceOf decodes a stored definition into the fence it holds, with the
// store's id, team and time.
func fenceOf(d alerting.Definition) (geofence.Fence, error) {
	f, err := geofence.ParseFence(d.JSON)
	if err != nil {
		return f, fmt.Errorf("stored fence %s of team %s: %w", d.ID, d.Team, err)
	}
	f.ID, f.Team, f.UpdatedAt = d.ID, d.Team, d.UpdatedAt
	return f, nil
}

func writeFence(w http.ResponseWriter, status int, f *geofence.Fence) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(f.AppendJSON(nil), '\n'))
}

// fenceNotFound is the answer for an id that names no fence of the team.
func fenceNotFound(team, id string) error {
	return tracking.Errorf(tracking.CodeNotFound, "no geofence %s in team %s", clipParam(id), team)
}

// handleFences serves GET /tracking/{team}/geofences: the team's fences, by
// id. Who: as the events (managers of the team, admins).
func (a *API) handleFences(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	defs, err := al.Store.ListDefinitions(r.Context(), team, alerting.KindFence)
	if err != nil {
		a.storeError(w, "list geofences", team, err)
		return
	}
	buf := []byte(`{"geofences":[`)
	n := 0
	for _, d := range defs {
		f, err := fenceOf(d)
		if err != nil {
			a.log.Warn("geofences: a stored fence does not parse; not listed", "err", err)
			continue
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = f.AppendJSON(buf)
		n++
	}
	buf = append(buf, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf)
}

// handleFence serves GET /tracking/{team}/geofences/{id}.
func (a *API) handleFence(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if tracking.ValidateID("id", id, 64) != nil {
		writeError(w, fenceNotFound(team, id))
		return
	}
	d, err := al.Store.GetDefinition(r.Context(), team, alerting.KindFence, id)
	if err != nil {
		a.storeError(w, "get geofence", team, err)
		return
	}
	f, err := fenceOf(d)
	if err != nil {
		a.storeError(w, "get geofence", team, err)
		return
	}
	writeFence(w, http.StatusOK, &f)
}

// handleFencePut serves POST /tracking/{team}/geofences (create: the server
// assigns the id; 201 with Location) and PUT /tracking/{team}/geofences/{id}
// (create with that id, 201, or replace, 200). The body is the fence's JSON
// form (geofence.ParseFence); id and team may be left out, and when given
// must match the path. Every replica evaluates the change within about
// DefinitionsPoll.
func (a *API) handleFencePut(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if id != "" && tracking.ValidateID("id", id, 64) != nil {
		writeError(w, fenceNotFound(team, id))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFenceBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, tracking.Errorf(tracking.CodeTooLarge, "the body exceeds %d bytes", maxFenceBody))
			return
		}
		writeError(w, tracking.Errorf(tracking.CodeBadRequest, "the body could not be read"))
		return
	}
	f, err := geofence.ParseFence(body)
	if err == nil && f.Team != "" && f.Team != team {
		err = &tracking.Error{Code: tracking.CodeInvalidField, Field: "team", Message: "must be the team of the path, " + team}
	}
	if err == nil && f.ID != "" && f.ID != id {
		msg := "must be the id of the path, " + id
		if id == "" {
			msg = "is assigned by the server on POST; PUT /tracking/{team}/geofences/{id} chooses one"
		}
		err = &tracking.Error{Code: tracking.CodeInvalidField, Field: "id", Message: msg}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusOK
	if id == "" {
		id, status = tracking.NewID(), http.StatusCreated
	} else if _, err := al.Store.GetDefinition(r.Context(), team, alerting.KindFence, id); err != nil {
		if tracking.ErrorCode(err) != tracking.CodeNotFound {
			a.storeError(w, "get geofence", team, err)
			return
		}
		status = http.StatusCreated
	}
	// updatedAt is the store's to set: a client's is not kept.
	f.ID, f.Team, f.UpdatedAt = id, team, time.Time{}
	d, err := al.Store.PutDefinition(r.Context(), alerting.Definition{Team: team, Kind: alerting.KindFence, ID: id, JSON: f.AppendJSON(nil)})
	if err != nil {
		a.storeError(w, "put geofence", team, err)
		return
	}
	if a.defs != nil {
		a.defs.Poke()
	}
	f.UpdatedAt = d.UpdatedAt
	if status == http.StatusCreated {
		w.Header().Set("Location", id) // relative: right behind the gateway too
	}
	writeFence(w, status, &f)
}

// handleFenceDelete serves DELETE /tracking/{team}/geofences/{id}: 204. A
// worker inside it gets no exit.
func (a *API) handleFenceDelete(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if tracking.ValidateID("id", id, 64) != nil {
		writeError(w, fenceNotFound(team, id))
		return
	}
	if _, err := al.Store.DeleteDefinition(r.Context(), team, alerting.KindFence, id); err != nil {
		a.storeError(w, "delete geofence", team, err)
		return
	}
	if a.defs != nil {
		a.defs.Poke()
	}
	w.WriteHeader(http.StatusNoContent)
}
