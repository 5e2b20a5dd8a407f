package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamtrack/tracking-core/auth"
)

const (
	// fenceConcurrency bounds the fence requests in flight: enough to
	// create 10,000 fences in seconds, few enough not to queue on the
	// store's connection pool.
	fenceConcurrency = 16
	// fenceAttempts is how often a request that failed for want of the
	// service (no connection, 429, 502-504) is tried.
	fenceAttempts = 4
	// fenceCleanupTimeout bounds deleting a run's fences once it is over
	// (also after Ctrl-C).
	fenceCleanupTimeout = 2 * time.Minute
)

// fenceAPI creates and deletes a run's fences through the tracking API
// (POST and DELETE {base}{team}/geofences), as a manager of each team.
type fenceAPI struct {
	client *http.Client
	creds  *credentials
	bases  []string // round robin
}

// createdFence is a fence the run created: where, and its id.
type createdFence struct {
	base, team, id string
}

// fenceError is a fence request the service answered with an error.
type fenceError struct {
	method, url string
	status      int
	message     string // the service's
}

func (e *fenceError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.method, e.url, e.status, http.StatusText(e.status))
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

// retryable reports whether a request may succeed if tried again.
func (e *fenceError) retryable() bool {
	switch e.status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// headers returns, per team, the headers of a manager of that team: a
// token signed for it (subject <team>-geofences), the one static token, or
// none.
func (a *fenceAPI) headers(teams []string) (map[string]http.Header, error) {
	out := make(map[string]http.Header, len(teams))
	for _, team := range teams {
		c := credential{claims: auth.Claims{Subject: team + "-geofences", Role: auth.RoleManager, Teams: []string{team}}}
		h, err := c.header(a.creds)
		if err != nil {
			return nil, err
		}
		out[team] = h
	}
	return out, nil
}

// create creates the planned fences, fenceConcurrency at a time, and
// returns those created, in plan order (nil entries for those not created).
// The first error stops the creation; the fences created so far are
// returned with it, for the caller to delete.
func (a *fenceAPI) create(ctx context.Context, plan []plannedFence, headers map[string]http.Header) ([]*createdFence, error) {
	out := make([]*createdFence, len(plan))
	err := forEach(ctx, len(plan), func(ctx context.Context, i int) error {
		p := &plan[i]
		base := a.bases[i%len(a.bases)]
		id, err := a.post(ctx, base, p.team, p.fence.AppendJSON(nil), headers[p.team])
		if err != nil {
			return fmt.Errorf("create fence %q of team %s: %w", p.fence.Name, p.team, err)
		}
		out[i] = &createdFence{base: base, team: p.team, id: id}
		return nil
	})
	return out, err
}

// remove deletes fences (nil entries skipped) and returns how many are
// gone; a fence already gone counts. It goes on past errors and returns the
// first.
func (a *fenceAPI) remove(ctx context.Context, fences []*createdFence, headers map[string]http.Header) (int, error) {
	var gone atomic.Int64
	var first error
	var once sync.Once
	_ = forEach(ctx, len(fences), func(ctx context.Context, i int) error {
		f := fences[i]
		if f == nil {
			return nil
		}
		// Every fence is tried: the first failure is reported, not the end.
		if err := a.delete(ctx, f, headers[f.team]); err == nil {
			gone.Add(1)
		} else {
			once.Do(func() { first = fmt.Errorf("delete fence %s of team %s: %w", f.id, f.team, err) })
		}
		return nil
	})
	if first == nil {
		first = ctx.Err()
	}
	return int(gone.Load()), first
}

func (a *fenceAPI) post(ctx context.Context, base, team string, body []byte, header http.Header) (string, error) {
	u := base + url.PathEscape(team) + "/geofences"
	var id string
	err := a.do(ctx, http.MethodPost, u, body, header, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusCreated {
			return answerError(http.MethodPost, u, resp)
		}
		var f struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&f); err != nil {
			return fmt.Errorf("POST %s: 201 with a body that is not a fence: %w", u, err)
		}
		if f.ID == "" {
			return fmt.Errorf("POST %s: 201 without the fence's id", u)
		}
		id = f.ID
		return nil
	})
	return id, err
}

func (a *fenceAPI) delete(ctx context.Context, f *createdFence, header http.Header) error {
	u := f.base + url.PathEscape(f.team) + "/geofences/" + url.PathEscape(f.id)
	return a.do(ctx, http.MethodDelete, u, nil, header, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
			return answerError(http.MethodDelete, u, resp)
		}
		return nil
	})
}

// do sends a request, trying again (with backoff) when the service was
// not there to answer, and hands the answer to handle.
func (a *fenceAPI) do(ctx context.Context, method, u string, body []byte, header http.Header, handle func(*http.Response) error) error {
	var err error
	for attempt := range fenceAttempts {
		if attempt > 0 && !sleep(ctx.Done(), time.Duration(100<<attempt)*time.Millisecond) {
			return ctx.Err()
		}
		rd := io.Reader(http.NoBody)
		if body != nil {
			rd = bytes.NewReader(body)
		}
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		var resp *http.Response
		resp, err = a.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // no answer (refused, reset, timed out): try again
		}
		err = handle(resp)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var fe *fenceError
		if err == nil || !errors.As(err, &fe) || !fe.retryable() {
			return err
		}
	}
	return err
}

func answerError(method, u string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return &fenceError{method: method, url: u, status: resp.StatusCode, message: errorMessage(b)}
}

// forEach calls f(ctx, i) for i in [0, n), fenceConcurrency at a time,
// and returns the first error, after which no new call starts (the ctx
// given to the calls in flight is cancelled).
func forEach(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(fenceConcurrency, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
