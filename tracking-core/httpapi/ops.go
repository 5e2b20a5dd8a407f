package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/wire"
)

// handleHealth is liveness: 200 while the process serves, with the build.
func (a *API) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, buildinfo.Health())
}

// handleReady answers 200 when the broker is reachable and the replica is not
// draining: Consul's check and the gateway route only to ready replicas.
func (a *API) handleReady(w http.ResponseWriter, r *http.Request) {
	if a.Draining() {
		writeError(w, tracking.Errorf(tracking.CodeShuttingDown, "draining"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.b.Ready(ctx); err != nil {
		a.log.Warn("not ready: broker unreachable", "err", err)
		writeError(w, &tracking.Error{Code: tracking.CodeUnavailable, Message: "broker unreachable", Err: err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// handlePositions answers the last known position of each worker of the team.
func (a *API) handlePositions(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	a.serveLast(w, r, tracking.KindPosition)
}

// handlePresence serves GET /tracking/{team}/presence: the JSON array of
// the current status of each worker of the team (wire.StatusChange).
func (a *API) handlePresence(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	a.serveLast(w, r, tracking.KindStatus)
}

// serveLast answers the JSON array of the team's last messages of kind.
func (a *API) serveLast(w http.ResponseWriter, r *http.Request, kind tracking.Kind) {
	team := r.PathValue("team")
	msgs, err := a.b.Last(r.Context(), team)
	if err != nil {
		a.log.Warn("last positions unavailable", "team", team, "err", err)
		writeError(w, &tracking.Error{Code: tracking.CodeUnavailable, Message: "last positions unavailable", Err: err})
		return
	}
	msgs = slices.DeleteFunc(msgs, func(m tracking.Message) bool { return m.Kind != kind })
	buf := append(wire.AppendRecords(make([]byte, 0, 3+len(msgs)*200), msgs), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf)
}
