package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// Transport is how Watch reads a team's stream.
type Transport int

const (
	SSE       Transport = iota // Server-Sent Events: GET {base}/{team}
	WebSocket                  // GET {base}/{team}/ws
)

// WatchOptions configure Watch. Zero values take the defaults in the
// comments.
type WatchOptions struct {
	// Transport. Default SSE.
	Transport Transport
	// After resumes after this stream id (from a previous Watch): no
	// snapshot, every position published since. Default "": the snapshot.
	After string
	// Backoff paces reconnections. Default Backoff{}.
	Backoff Backoff
	// OnReconnect is called before each new connection after the first,
	// with why the previous one ended and the id it resumes after.
	// Default: logged.
	OnReconnect func(cause error, after string)
	// Logger. Default: discard.
	Logger *slog.Logger
}

// ErrStop, returned by Watch's function, ends Watch with a nil error.
var ErrStop = errors.New("stop watching")

// Watch follows team's stream on api, calling f with each event in order
// (the snapshot, its mark, then live positions, statuses, alerts and
// deliveries; comments and heartbeats are left out) until ctx is done, f
// returns an error, or the server refuses for good. When the stream ends
// (a reconnect hint, a broken connection) Watch connects again after the
// last stream id received, so f sees each live event once; when the server
// cannot resume from it, f gets an Event with Reset set, then a new
// snapshot. The Event is valid during the call only.
//
// Watch returns nil when f returns ErrStop, ctx's cause when ctx is done, a
// *apiclient.StatusError for a refusal that retrying cannot cure (401, 403,
// 404), or f's error.
func Watch(ctx context.Context, api *apiclient.Client, team string, opts WatchOptions, f func(*apiclient.Event) error) error {
	opts.Backoff = opts.Backoff.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnReconnect == nil {
		opts.OnReconnect = func(cause error, after string) {
			opts.Logger.Info("reconnecting", "team", team, "cause", cause, "after", after)
		}
	}
	after := opts.After
	failures := 0
	for first := true; ; first = false {
		var err error
		if !first {
			if err = opts.Backoff.wait(ctx, failures); err != nil {
				return err
			}
		}
		var s apiclient.ManagerStream
		if opts.Transport == WebSocket {
			s, err = api.WatchWSAfter(ctx, team, after)
		} else {
			s, err = api.WatchSSEAfter(ctx, team, after)
		}
		if err != nil {
			var se *apiclient.StatusError
			switch {
			case ctx.Err() != nil:
				return context.Cause(ctx)
			case errors.As(err, &se) && permanent(se.StatusCode):
				return fmt.Errorf("watch %s: %w", team, err)
			}
			failures++
			opts.OnReconnect(err, after)
			continue
		}
		started := time.Now()
		cause := follow(s, &after, f)
		_ = s.Close()
		switch {
		case errors.Is(cause, ErrStop):
			return nil
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(cause, errHandler):
			return errors.Unwrap(cause)
		}
		if apiclient.IsReconnect(cause) || time.Since(started) > opts.Backoff.Max {
			failures = 0 // asked to come back, or it had lasted: no penalty
		} else {
			failures++
		}
		opts.OnReconnect(cause, after)
	}
}

var errHandler = errors.New("handler")

type handlerError struct{ err error }

func (e handlerError) Error() string        { return e.err.Error() }
func (e handlerError) Unwrap() error        { return e.err }
func (e handlerError) Is(target error) bool { return target == errHandler }

// follow reads s until it ends, keeping the last stream id in *after.
func follow(s apiclient.ManagerStream, after *string, f func(*apiclient.Event) error) error {
	for {
		ev, err := s.Next()
		if err != nil {
			return err
		}
		if ev.Error != nil {
			return ev.Error
		}
		if len(ev.Positions) == 0 && ev.ID == "" && !ev.Reset && ev.Status == nil && ev.Alert == nil && ev.Delivery == nil {
			continue // a heartbeat or the retry field
		}
		if err := f(ev); err != nil {
			if errors.Is(err, ErrStop) {
				return err
			}
			return handlerError{err}
		}
		if ev.ID != "" {
			*after = ev.ID
		}
	}
}
