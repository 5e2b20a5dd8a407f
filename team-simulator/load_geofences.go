package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// GeofenceReport is what a run's -geofences did.
type GeofenceReport struct {
	Created       int     `json:"created"` // fences the run created
	Circles       int     `json:"circles"`
	Polygons      int     `json:"polygons"`
	WithDwell     int     `json:"withDwell"`
	WithSchedule  int     `json:"withSchedule"`
	CreateSeconds float64 `json:"createSeconds"` // to create them all
	// Deleted is how many were deleted at the end (0 when Kept).
	Deleted     int    `json:"deleted"`
	Kept        bool   `json:"kept,omitempty"`
	DeleteError string `json:"deleteError,omitempty"`
}

// loadFences are the fences of a running load run.
type loadFences struct {
	api     *fenceAPI
	plan    *fencePlan
	created []*createdFence
	teams   []string
	took    time.Duration
	log     *slog.Logger
}

// createFences plans and creates the run's fences. On an error the fences
// created so far are deleted again (unless KeepGeofences), and the error,
// naming the fence and quoting the service, is returned.
func (lr *loadRun) createFences(ctx context.Context, client *http.Client, creds *credentials) (*loadFences, error) {
	cfg := lr.cfg
	plan, err := planFences(cfg, lr.teams, string(lr.run))
	if err != nil {
		return nil, fmt.Errorf("load: -geofences: %w", err)
	}
	f := &loadFences{api: &fenceAPI{client: client, creds: creds, bases: cfg.WorkerURLs}, plan: plan, log: cfg.Logger}
	for _, t := range lr.teams {
		f.teams = append(f.teams, t.name)
	}
	headers, err := f.api.headers(f.teams)
	if err != nil {
		return nil, fmt.Errorf("load: -geofences: %w", err)
	}
	start := time.Now()
	f.created, err = f.api.create(ctx, plan.fences, headers)
	f.took = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted while creating them: %w", ctx.Err())
		}
		if !cfg.KeepGeofences {
			if n, derr := f.remove(ctx); derr != nil {
				cfg.Logger.Error("deleting the fences created before the error failed", "deleted", n, "err", derr)
			}
		}
		return nil, fmt.Errorf("load: -geofences: %w", err)
	}
	cfg.Logger.Info("geofences created", "fences", len(f.created), "teams", len(lr.teams),
		"circles", plan.circles, "polygons", plan.polygons, "took", f.took.Round(time.Millisecond))
	return f, nil
}

// remove deletes the created fences, also after ctx is done (Ctrl-C), within
// fenceCleanupTimeout.
func (f *loadFences) remove(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fenceCleanupTimeout)
	defer cancel()
	headers, err := f.api.headers(f.teams) // tokens signed anew if the run was long
	if err != nil {
		return 0, err
	}
	return f.api.remove(ctx, f.created, headers)
}

// finish deletes the fences unless keep, and reports on them.
func (f *loadFences) finish(ctx context.Context, keep bool) *GeofenceReport {
	p := f.plan
	r := &GeofenceReport{Created: len(f.created), Circles: p.circles, Polygons: p.polygons, WithDwell: p.dwell,
		WithSchedule: p.schedule, CreateSeconds: round(f.took.Seconds(), 100), Kept: keep}
	if keep {
		f.log.Info("geofences kept", "fences", r.Created)
		return r
	}
	start := time.Now()
	n, err := f.remove(ctx)
	r.Deleted = n
	if err != nil {
		r.DeleteError = err.Error()
		f.log.Error("not every fence of the run could be deleted", "deleted", n, "created", r.Created, "err", err)
	} else {
		f.log.Info("geofences deleted", "fences", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return r
}
