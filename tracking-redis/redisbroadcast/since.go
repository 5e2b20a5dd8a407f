package redisbroadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// A team's resumable stream is a Redis stream (Config.ResumeWindow of
// entries, one per published batch) beside a meta hash with the team's epoch
// (see publishScript). A position's Offset is the entry's id and its index
// in the entry's frame: Seq is the id's milliseconds; Index packs the id's
// sequence number above indexBits bits of the position's index.
const (
	indexBits = 24
	indexMask = 1<<indexBits - 1
	// wholeEntry as an index means "past every position of the entry": the
	// head Since returns.
	wholeEntry = indexMask
)

// newEpoch returns a fresh epoch, never zero, in the decimal form the scripts
// store.
func newEpoch() string { return strconv.FormatUint(rand.Uint64()|1, 10) }

// entryID is a stream entry id, ms-seq.
type entryID struct{ ms, seq uint64 }

func parseEntryID(s string) (entryID, error) {
	a, b, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || seq > 1<<(64-indexBits)-1 {
		return entryID{}, fmt.Errorf("bad stream entry id %q", s)
	}
	return entryID{ms, seq}, nil
}

func (e entryID) String() string {
	return strconv.FormatUint(e.ms, 10) + "-" + strconv.FormatUint(e.seq, 10)
}

func (e entryID) less(f entryID) bool { return e.ms < f.ms || e.ms == f.ms && e.seq < f.seq }

// offset is the Offset of the position at index i of entry e.
func (e entryID) offset(epoch uint64, i int) tracking.Offset {
	return tracking.Offset{Epoch: epoch, Seq: e.ms, Index: e.seq<<indexBits | uint64(i)}
}

// entryOf splits an Offset into its entry and index.
func entryOf(o tracking.Offset) (entryID, int) {
	return entryID{o.Seq, o.Index >> indexBits}, int(o.Index & indexMask)
}

// sinceScript reads what Since needs in one step: the epoch (made when the
// team has none, or anew when its stream is gone after it had entries, as
// publishScript would), the last entry id, the largest trimmed entry id,
// and the entries from ARGV[3] on (COUNT ARGV[4]) when ARGV[3] is not "".
// KEYS: stream, meta hash. ARGV: a fresh epoch, resume window (ms), first
// entry id or "", count.
var sinceScript = redis.NewScript(`
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'last')
local epoch, last = meta[1], meta[2]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not epoch or (last and not exists) then
	epoch, last = ARGV[1], false
	redis.call('DEL', KEYS[2])
	redis.call('HSET', KEYS[2], 'epoch', epoch)
	redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
end
if not exists then
	return {epoch, '', '', {}}
end
local deleted = ''
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
	if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
local entries = {}
if ARGV[3] ~= '' then
	entries = redis.call('XRANGE', KEYS[1], ARGV[3], '+', 'COUNT', ARGV[4])
end
return {epoch, last or '', deleted, entries}
`)

// Since returns team's positions after after from its stream (see
// tracking.Broadcaster).
func (b *Broadcaster) Since(ctx context.Context, team string, after tracking.Offset, limit int) ([]tracking.Message, tracking.Offset, error) {
	select {
	case <-b.closing:
		return nil, tracking.Offset{}, tracking.ErrClosed
	default:
	}
	first := ""
	var from entryID
	var fromIndex int
	if !after.IsZero() {
		from, fromIndex = entryOf(after)
		first = from.String()
	}
	res, err := sinceScript.Run(ctx, b.rdb, []string{b.streamKey(team), b.metaKey(team)},
		newEpoch(), b.cfg.ResumeWindow.Milliseconds(), first, limit+2).Slice()
	if err != nil {
		return nil, tracking.Offset{}, fmt.Errorf("resume team %s: %w", team, err)
	}
	st, err := decodeSince(res)
	if err != nil {
		return nil, tracking.Offset{}, fmt.Errorf("resume team %s: %w", team, err)
	}
	head := tracking.Offset{Epoch: st.epoch}
	if st.last != (entryID{}) {
		head = st.last.offset(st.epoch, wholeEntry)
	}
	switch {
	case after.IsZero():
		return nil, head, nil
	case after.Epoch != st.epoch, st.last.less(from):
		return nil, head, tracking.ErrGap // another epoch, or beyond the head
	case st.deleted != (entryID{}) && !st.deleted.less(from) && !(st.deleted == from && fromIndex == wholeEntry):
		return nil, head, tracking.ErrGap // positions after it were trimmed
	}
	var out []tracking.Message
	for _, e := range st.entries {
		id, err := parseEntryID(e.ID)
		if err != nil {
			return nil, head, fmt.Errorf("resume team %s: %w", team, err)
		}
		frame, _ := e.Values["f"].(string)
		n := len(out)
		if out, err = wire.DecodeFrame(out, team, []byte(frame)); err != nil {
			return nil, head, fmt.Errorf("resume team %s: entry %s: %w", team, e.ID, err)
		}
		for i := range out[n:] {
			out[n+i].Offset = id.offset(st.epoch, i)
		}
		if id == from { // the entry after points into: keep what follows
			out = append(out[:n], out[n+min(fromIndex+1, len(out)-n):]...)
		}
		if len(out) > limit {
			return nil, head, tracking.ErrGap
		}
	}
	if len(out) > 0 {
		head = out[len(out)-1].Offset
	} else {
		head = after
	}
	return out, head, nil
}

type sinceState struct {
	epoch         uint64
	last, deleted entryID
	entries       []redis.XMessage
}

func decodeSince(res []any) (sinceState, error) {
	var st sinceState
	if len(res) != 4 {
		return st, errors.New("unexpected answer from the resume script")
	}
	epoch, _ := res[0].(string)
	var err error
	if st.epoch, err = strconv.ParseUint(epoch, 10, 64); err != nil || st.epoch == 0 {
		return st, fmt.Errorf("bad epoch %q", epoch)
	}
	for i, p := range []*entryID{&st.last, &st.deleted} {
		s, _ := res[1+i].(string)
		if s == "" || s == "0-0" {
			continue
		}
		if *p, err = parseEntryID(s); err != nil {
			return st, err
		}
	}
	entries, _ := res[3].([]any)
	for _, e := range entries {
		m, err := xMessage(e)
		if err != nil {
			return st, err
		}
		st.entries = append(st.entries, m)
	}
	return st, nil
}

// xMessage decodes one XRANGE entry from a script's answer.
func xMessage(v any) (redis.XMessage, error) {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return redis.XMessage{}, errors.New("bad stream entry in the resume answer")
	}
	id, _ := pair[0].(string)
	fields, _ := pair[1].([]any)
	m := redis.XMessage{ID: id, Values: make(map[string]any, len(fields)/2)}
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		m.Values[k] = fields[i+1]
	}
	return m, nil
}

// splitPayload splits a channel payload (publishScript: epoch, entry id and
// frame, separated by spaces) into the base Offset of its positions and the
// frame.
func splitPayload(payload []byte) (epoch uint64, id entryID, frame []byte, err error) {
	e, rest, ok1 := bytes.Cut(payload, []byte{' '})
	i, frame, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return 0, entryID{}, nil, errors.New("payload without epoch and entry id")
	}
	if epoch, err = strconv.ParseUint(string(e), 10, 64); err != nil || epoch == 0 {
		return 0, entryID{}, nil, fmt.Errorf("bad epoch %q", e)
	}
	id, err = parseEntryID(string(i))
	return epoch, id, frame, err
}
