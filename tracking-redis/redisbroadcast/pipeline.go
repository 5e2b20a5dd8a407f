package redisbroadcast

import (
	"context"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// pipeliner turns a batch of positions into one Redis pipeline. Its buffers
// are reused from batch to batch; it is used by the sender goroutine only.
type pipeliner struct {
	b      *Broadcaster
	order  []string                      // teams in order of first appearance
	byTeam map[string][]tracking.Message // positions per team, in order
}

func newPipeliner(b *Broadcaster) *pipeliner {
	return &pipeliner{b: b, byTeam: make(map[string][]tracking.Message)}
}

func (p *pipeliner) send(batch []tracking.Message) {
	b := p.b
	p.order = p.order[:0]
	for _, m := range batch {
		msgs, ok := p.byTeam[m.Team]
		if !ok || len(msgs) == 0 {
			p.order = append(p.order, m.Team)
		}
		p.byTeam[m.Team] = append(msgs, m)
	}
	now := time.Now().UnixMilli()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := b.rdb.Pipeline()
	for _, team := range p.order {
		msgs := p.byTeam[team]
		// Last positions first, so that a snapshot read after the PUBLISH
		// is delivered already holds it. Later positions of a worker overwrite
		// earlier ones within the HSET, as they should.
		args := make([]any, 0, 2*len(msgs))
		for _, m := range msgs {
			args = append(args, m.Worker, encodeLast(make([]byte, 0, 16+len(m.JSON)), now, m))
		}
		key := b.lastKey(team)
		pipe.HSet(ctx, key, args...)
		pipe.PExpire(ctx, key, b.cfg.StaleAfter)
		pipe.Publish(ctx, b.channel(team), tracking.AppendFrame(nil, msgs...))
	}
	_, err := pipe.Exec(ctx)
	b.m.pipelines.Inc()
	if err != nil {
		b.m.publishErrors.Add(float64(len(batch)))
		b.log.Warn("send positions to redis", "count", len(batch), "err", err)
	} else {
		b.m.published.Add(float64(len(batch)))
	}
	for _, team := range p.order {
		clear(p.byTeam[team])
		p.byTeam[team] = p.byTeam[team][:0]
	}
	if len(p.byTeam) > 4096 {
		clear(p.byTeam) // forget teams that went away
	}
}
