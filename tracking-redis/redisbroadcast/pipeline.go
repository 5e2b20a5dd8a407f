package redisbroadcast

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := b.rdb.Pipeline()
	for _, team := range p.order {
		msgs := p.byTeam[team]
		// Last positions first, so that a snapshot read after the PUBLISH
		// is delivered already holds it. The script keeps the newest fix.
		args := make([]any, 0, 1+2*len(msgs))
		args = append(args, b.cfg.StaleAfter.Milliseconds())
		for _, m := range msgs {
			args = append(args, m.Worker, encodeLast(make([]byte, 0, 40+len(m.Worker)+len(m.JSON)), m))
		}
		setLastScript.Eval(ctx, pipe, []string{b.lastKey(team)}, args...)
		pipe.Publish(ctx, b.channel(team), wire.AppendFrame(nil, msgs...))
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

// setLastScript stores each worker's value unless the one stored has a newer
// fix (the values' first 8 bytes, compared bytewise: Lua's string order
// follows the server's locale), then renews the hash's expiry.
// KEYS[1] the hash; ARGV[1] expiry in ms; then worker, value pairs.
var setLastScript = redis.NewScript(`
local function older(stored, new)
	for i = 1, 8 do
		local a, b = stored:byte(i), new:byte(i)
		if a ~= b then return a < b end
	end
	return true
end
for i = 2, #ARGV, 2 do
	local stored = redis.call('HGET', KEYS[1], ARGV[i])
	if not stored or older(stored, ARGV[i + 1]) then
		redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
	end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
`)
