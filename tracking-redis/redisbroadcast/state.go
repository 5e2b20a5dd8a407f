package redisbroadcast

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
)

var _ tracking.StateStore = (*Broadcaster)(nil)

// stateTTL is how long a team's worker states outlive their last save.
const stateTTL = 24 * time.Hour

func (b *Broadcaster) stateKey(team string) string {
	return b.cfg.ChannelPrefix + "state:" + b.tag(team)
}

// SaveState stores the worker's state in the team's state hash (see
// tracking.StateStore); saves are rare (a geofence state changes on an
// event, not on every position), so each is one round trip.
func (b *Broadcaster) SaveState(ctx context.Context, team, worker string, state []byte) error {
	if len(state) > tracking.MaxStateSize {
		return tracking.Errorf(tracking.CodeTooLarge, "worker state of %d bytes is over %d", len(state), tracking.MaxStateSize)
	}
	select {
	case <-b.closing:
		return tracking.ErrClosed
	default:
	}
	key := b.stateKey(team)
	pipe := b.rdb.TxPipeline()
	pipe.HSet(ctx, key, worker, state)
	pipe.PExpire(ctx, key, stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("save state of %s/%s: %w", team, worker, err)
	}
	return nil
}

// LoadState returns the worker's state, nil when there is none.
func (b *Broadcaster) LoadState(ctx context.Context, team, worker string) ([]byte, error) {
	select {
	case <-b.closing:
		return nil, tracking.ErrClosed
	default:
	}
	v, err := b.rdb.HGet(ctx, b.stateKey(team), worker).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state of %s/%s: %w", team, worker, err)
	}
	return v, nil
}
