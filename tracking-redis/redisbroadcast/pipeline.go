package redisbroadcast

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// pipeliner turns a batch of positions into one Redis pipeline. Its buffers
// are reused from batch to batch; it is used by the sender goroutine only.
//
// In a cluster, a batch becomes one pipeline per shard (the master owning
// the teams' slots), each sent by a goroutine of the shard's own, in order:
// a shard failing over delays and loses only its own teams' positions, not
// the other shards'. A healthy shard whose pipelines back up
// (shardBacklog) makes the sender wait, as one pipeline would; a failing
// one loses the new ones instead of stalling the sender.
type pipeliner struct {
	b      *Broadcaster
	order  []string                      // teams in order of first appearance
	byTeam map[string][]tracking.Message // positions per team, in order
	newest map[string]int                // call: a worker's newest message in the team's batch

	// refreshed is when each team's keys last had their expiries renewed
	// and its stream its length trimmed; see refreshEvery.
	refreshed map[string]time.Time

	shards map[string]*shardQueue // cluster: by master address
	wg     sync.WaitGroup         // the shards' goroutines
}

type shardQueue struct {
	q       chan []evalCall
	failing atomic.Bool // its last pipeline failed
}

// shardBacklog bounds the pipelines waiting for one shard.
const shardBacklog = 4

// evalCall is one team's publishScript call; n positions.
type evalCall struct {
	keys []string
	args []any
	n    int
}

func newPipeliner(b *Broadcaster) *pipeliner {
	return &pipeliner{b: b, byTeam: make(map[string][]tracking.Message), newest: make(map[string]int),
		refreshed: make(map[string]time.Time), shards: make(map[string]*shardQueue)}
}

// refreshEvery is how often a team's publishes renew its keys' expiries
// and trim its stream to the resume window and ResumeMaxEntries, rather
// than at every publish: they were a third of what the script asked Redis
// for (BenchmarkPublishPipeline). A key expires at most this much earlier
// than the configured time after its team's last publish; a stream holds at
// most this long's entries over the window or the cap.
func (b *Broadcaster) refreshEvery() time.Duration {
	return min(time.Second, b.cfg.ResumeWindow/8, b.cfg.StaleAfter/8)
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
	if b.cluster == nil {
		calls := make([]evalCall, 0, len(p.order))
		for _, team := range p.order {
			calls = append(calls, p.call(team))
		}
		b.exec(calls)
	} else {
		p.sendSharded()
	}
	for _, team := range p.order {
		clear(p.byTeam[team])
		p.byTeam[team] = p.byTeam[team][:0]
	}
	if len(p.byTeam) > 4096 {
		clear(p.byTeam) // forget teams that went away
	}
	if len(p.refreshed) > 4096 {
		clear(p.refreshed) // their next publishes refresh
	}
}

// call is team's publishScript call (its arguments own their bytes). The
// frame carries every message; the last positions and statuses only each
// worker's newest of the batch (the script keeps the newest anyway).
func (p *pipeliner) call(team string) evalCall {
	b := p.b
	msgs := p.byTeam[team]
	refresh := 0
	if now := time.Now(); now.Sub(p.refreshed[team]) >= b.refreshEvery() {
		refresh = 1
		p.refreshed[team] = now
	}
	args := make([]any, 0, 8+2*len(msgs))
	// The oldest entry id the window keeps, by this replica's clock (the
	// ids are Redis's: a clock ahead of Redis's by d trims d early).
	minID := strconv.FormatInt(time.Now().Add(-b.cfg.ResumeWindow).UnixMilli(), 10) + "-0"
	args = append(args, b.cfg.StaleAfter.Milliseconds(), b.cfg.ResumeWindow.Milliseconds(),
		newEpoch(), b.channel(team), wire.AppendFrame(nil, msgs...), b.cfg.ResumeMaxEntries, 0, refresh, minID)
	positions := 0
	for _, kind := range []tracking.Kind{tracking.KindPosition, tracking.KindStatus} {
		clear(p.newest)
		for i, m := range msgs {
			if m.Kind != kind {
				continue
			}
			if j, ok := p.newest[m.Worker]; !ok || !supersedes(msgs[j], m) {
				p.newest[m.Worker] = i
			}
		}
		for i, m := range msgs {
			if m.Kind == kind && p.newest[m.Worker] == i {
				args = append(args, m.Worker, encodeLast(make([]byte, 0, 48+len(m.Worker)+len(m.JSON)), m))
				if kind == tracking.KindPosition {
					positions++
				}
			}
		}
	}
	args[6] = positions
	return evalCall{keys: []string{b.lastKey(team), b.streamKey(team), b.metaKey(team), b.statusKey(team)}, args: args, n: len(msgs)}
}

// supersedes reports whether a (earlier in the batch) is to be kept over b
// (later) as their worker's last value: its order key — the fix time, and
// for a status the session and change too — is greater, as the script
// compares them (encodeLast). Equal keys: the later one, as the script
// would store it after the earlier.
func supersedes(a, b tracking.Message) bool {
	if a.Time != b.Time {
		return a.Time > b.Time
	}
	return a.Kind == tracking.KindStatus && a.Received > b.Received
}

// exec sends calls in one pipeline; false when it failed.
func (b *Broadcaster) exec(calls []evalCall) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	script := publishScript
	if b.cluster != nil {
		script = spublishScript
	}
	pipe := b.rdb.Pipeline()
	n := 0
	for _, c := range calls {
		script.Eval(ctx, pipe, c.keys, c.args...)
		n += c.n
	}
	_, err := pipe.Exec(ctx)
	b.m.pipelines.Inc()
	if err != nil {
		b.m.publishErrors.Add(float64(n))
		b.log.Warn("send positions to redis", "count", n, "err", err)
		b.reloadSlots()
		return false
	}
	b.m.published.Add(float64(n))
	return true
}

// sendSharded hands the batch's calls, grouped by shard, to the shards'
// goroutines.
func (p *pipeliner) sendSharded() {
	b := p.b
	groups := map[string][]evalCall{}
	for _, team := range p.order {
		addr := ""
		// From the slot map go-redis holds: no round trip.
		if c, err := b.cluster.MasterForKey(context.Background(), b.lastKey(team)); err == nil {
			addr = c.Options().Addr
		}
		groups[addr] = append(groups[addr], p.call(team))
	}
	for addr, calls := range groups {
		sq := p.shards[addr]
		if sq == nil {
			sq = &shardQueue{q: make(chan []evalCall, shardBacklog)}
			p.shards[addr] = sq
			p.wg.Go(func() {
				for calls := range sq.q {
					sq.failing.Store(!b.exec(calls))
				}
			})
		}
		if !sq.failing.Load() {
			sq.q <- calls // a healthy shard: back pressure, as with one pipeline
			continue
		}
		select {
		case sq.q <- calls:
		default: // a failing shard backed up: lose these, not the other shards' time
			n := 0
			for _, c := range calls {
				n += c.n
			}
			b.m.publishErrors.Add(float64(n))
			b.log.Warn("redis shard failing and backed up: positions dropped", "shard", addr, "count", n)
		}
	}
}

// close waits for the shards' goroutines to send what they hold (Close).
func (p *pipeliner) close() {
	for _, sq := range p.shards {
		close(sq.q)
	}
	p.wg.Wait()
}

// publishScript publishes one team's batch in one step, so that the three
// places a position goes agree on its order:
//
//  1. Last positions and statuses: each worker's value is stored unless the
//     one stored supersedes it (the values' order keys — 8 bytes for a
//     position's fix time, 16 for a status's session and change — compared
//     bytewise: Lua's string order follows the server's locale). First, so
//     that a snapshot read after the PUBLISH is delivered already holds it.
//     Alerts are not kept.
//  2. The team's stream (resume, see since.go): one entry holding the
//     frame, trimmed to the resume window by entry id (the replica's clock)
//     and to Config.ResumeMaxEntries entries.
//  3. The team's channel: the epoch, the entry id and the frame, so that
//     subscribers learn each position's Offset.
//
// The meta hash holds the team's epoch and the last entry id. A stream found
// missing after it had entries (it expired, or Redis lost it) gets a new
// epoch: offsets of the old one can no longer be resumed from.
//
// Expiries are renewed, and the stream trimmed to its window and most entries, when
// ARGV[8] is 1 (every refreshEvery per team), and whenever a key may have
// been made anew (a team's first publish, a new epoch, a new field in a
// hash): no key is left without an expiry.
//
// KEYS: last hash, stream, meta hash, status hash. ARGV: last-position
// expiry (ms), resume window (ms), a fresh epoch should one be needed,
// channel, frame, most entries, the number of position pairs, 1 to refresh
// (else 0), the oldest entry id to keep, then worker, value pairs of
// positions, then of statuses.
var publishScript = redis.NewScript(publishSource)

// spublishScript is publishScript for a cluster: SPUBLISH to the team's
// sharded channel, in the slot of the team's keys.
var spublishScript = redis.NewScript(strings.Replace(publishSource, "'PUBLISH'", "'SPUBLISH'", 1))

const publishSource = `
local function older(stored, new, n)
	for i = 1, n do
		local a, b = stored:byte(i), new:byte(i)
		if a ~= b then return a < b end
	end
	return true
end
-- keep stores the worker, value pairs ARGV[from..to] whose stored values
-- they supersede: one HMGET and one HSET a chunk, not a call a worker.
local function keep(key, from, to, n)
	local chunk, added = 400, false
	for first = from, to, 2 * chunk do
		local last = math.min(first + 2 * chunk - 1, to)
		local fields = {}
		for i = first, last, 2 do fields[#fields + 1] = ARGV[i] end
		local stored = redis.call('HMGET', key, unpack(fields))
		local set = {}
		for j = 1, #fields do
			local i = first + 2 * (j - 1)
			local s = stored[j]
			if not s or older(s, ARGV[i + 1], n) then
				set[#set + 1] = ARGV[i]
				set[#set + 1] = ARGV[i + 1]
			end
		end
		-- New fields: maybe a new hash, which has no expiry yet.
		if #set > 0 and redis.call('HSET', key, unpack(set)) > 0 then added = true end
	end
	if added or ARGV[8] == '1' then redis.call('PEXPIRE', key, ARGV[1]) end
end
local split = 10 + 2 * tonumber(ARGV[7])
keep(KEYS[1], 10, split - 1, 8)
keep(KEYS[4], split, #ARGV, 16)

local window = tonumber(ARGV[2])
local meta = redis.call('HMGET', KEYS[3], 'epoch', 'last')
local epoch = meta[1]
local fresh = ARGV[8] == '1' or not meta[2]
if not epoch or (meta[2] and redis.call('EXISTS', KEYS[2]) == 0) then
	epoch, fresh = ARGV[3], true
	redis.call('HSET', KEYS[3], 'epoch', epoch)
end
local id = redis.call('XADD', KEYS[2], '*', 'f', ARGV[5])
redis.call('HSET', KEYS[3], 'last', id)
if fresh then
	redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[9])
	redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[6])
	redis.call('PEXPIRE', KEYS[2], window)
	redis.call('PEXPIRE', KEYS[3], 2 * window)
end
redis.call('PUBLISH', ARGV[4], epoch .. ' ' .. id .. ' ' .. ARGV[5])
return 0
`
