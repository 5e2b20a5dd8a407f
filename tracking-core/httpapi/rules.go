package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/geofence/proximity"
)

// maxRuleBody bounds a rule's JSON: up to 1,000 worker ids.
const maxRuleBody = 128 << 10

func ruleNotFound(team, id string) error {
	return tracking.Errorf(tracking.CodeNotFound, "no rule %s in team %s", clipParam(id), team)
}

// ruleOf decodes a stored definition into its rule, with the store's id and team.
func ruleOf(d alerting.Definition) (proximity.Rule, error) {
	var r proximity.Rule
	if err := json.Unmarshal(d.JSON, &r); err != nil {
		return r, fmt.Errorf("stored rule %s of team %s: %w", d.ID, d.Team, err)
	}
	r.ID, r.Team = d.ID, d.Team
	return r, nil
}

// ruleView is a rule as answered: its JSON form and when it last changed.
func ruleView(r proximity.Rule, d alerting.Definition) map[string]any {
	raw, _ := json.Marshal(r)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	v["updatedAt"] = d.UpdatedAt
	return v
}

// handleRules serves GET /tracking/{team}/rules: the team's proximity rules, by id.
func (a *API) handleRules(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team := r.PathValue("team")
	defs, err := al.Store.ListDefinitions(r.Context(), team, alerting.KindRule)
	if err != nil {
		a.storeError(w, "list rules", team, err)
		return
	}
	out := make([]map[string]any, 0, len(defs))
	for _, d := range defs {
		rule, err := ruleOf(d)
		if err != nil {
			a.log.Warn("rules: a stored rule does not parse; not listed", "err", err)
			continue
		}
		out = append(out, ruleView(rule, d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

// handleRule serves GET /tracking/{team}/rules/{id}.
func (a *API) handleRule(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if tracking.ValidateID("id", id, 64) != nil {
		writeError(w, ruleNotFound(team, id))
		return
	}
	d, err := al.Store.GetDefinition(r.Context(), team, alerting.KindRule, id)
	if err == nil {
		var rule proximity.Rule
		if rule, err = ruleOf(d); err == nil {
			writeJSON(w, http.StatusOK, ruleView(rule, d))
			return
		}
	}
	a.storeError(w, "get rule", team, err)
}

// handleRulePut serves POST /tracking/{team}/rules (the server assigns the
// id: 201 with Location) and PUT /tracking/{team}/rules/{id} (create, 201,
// or replace, 200). The body is proximity.Rule's JSON form; id and team
// may be left out and, when given, must match the path.
func (a *API) handleRulePut(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if id != "" && tracking.ValidateID("id", id, 64) != nil {
		writeError(w, ruleNotFound(team, id))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRuleBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, tracking.Errorf(tracking.CodeTooLarge, "the body exceeds %d bytes", maxRuleBody))
			return
		}
		writeError(w, tracking.Errorf(tracking.CodeBadRequest, "the body could not be read"))
		return
	}
	// The id and team come from the path: checked against the body's, then
	// put in it, so that the rule validates as a whole.
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		writeError(w, tracking.Errorf(tracking.CodeInvalidJSON, "the body is not a JSON object"))
		return
	}
	status := http.StatusOK
	newID := id
	if newID == "" {
		newID, status = tracking.NewID(), http.StatusCreated
	}
	for _, m := range []struct{ name, want, msg string }{
		{"team", team, "must be the team of the path, " + team},
		{"id", id, "must be the id of the path, " + id},
	} {
		raw, ok := obj[m.name]
		if !ok {
			continue
		}
		var got string
		if json.Unmarshal(raw, &got) != nil || got != m.want {
			msg := m.msg
			if m.name == "id" && id == "" {
				msg = "is assigned by the server on POST; PUT /tracking/{team}/rules/{id} chooses one"
			}
			writeError(w, &tracking.Error{Code: tracking.CodeInvalidField, Field: m.name, Message: msg})
			return
		}
	}
	obj["id"], _ = json.Marshal(newID)
	obj["team"], _ = json.Marshal(team)
	body, _ = json.Marshal(obj)
	var rule proximity.Rule
	if err := json.Unmarshal(body, &rule); err != nil {
		var te *tracking.Error
		if !errors.As(err, &te) {
			err = tracking.Errorf(tracking.CodeInvalidJSON, "the body is not a rule")
		}
		writeError(w, err)
		return
	}
	if id != "" {
		if _, err := al.Store.GetDefinition(r.Context(), team, alerting.KindRule, id); err != nil {
			if tracking.ErrorCode(err) != tracking.CodeNotFound {
				a.storeError(w, "get rule", team, err)
				return
			}
			status = http.StatusCreated
		}
	}
	js, _ := json.Marshal(rule)
	d, err := al.Store.PutDefinition(r.Context(), alerting.Definition{Team: team, Kind: alerting.KindRule, ID: newID, JSON: js})
	if err != nil {
		a.storeError(w, "put rule", team, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", newID)
	}
	writeJSON(w, status, ruleView(rule, d))
}

// handleRuleDelete serves DELETE /tracking/{team}/rules/{id}: 204.
func (a *API) handleRuleDelete(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	al, ok := a.alertsOr501(w)
	if !ok {
		return
	}
	team, id := r.PathValue("team"), r.PathValue("id")
	if tracking.ValidateID("id", id, 64) != nil {
		writeError(w, ruleNotFound(team, id))
		return
	}
	if _, err := al.Store.DeleteDefinition(r.Context(), team, alerting.KindRule, id); err != nil {
		a.storeError(w, "delete rule", team, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
