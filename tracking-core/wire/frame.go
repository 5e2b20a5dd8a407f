package wire

import (
	"encoding/binary"
	"fmt"

	tracking "github.com/teamtrack/tracking-core"
)

// The frame codec packs messages of one team into one broker payload: a version
// byte, then per message the kind byte, uvarint(len worker) worker, varint
// time, varint received, uvarint(len json) json. The team travels in the
// channel or key, not the frame. It exists so that a receiving replica learns
// kind, worker and times without parsing JSON, and so that one broker message
// can carry a batch. Versions 1 (no received time: Received is taken to be
// Time) and 2 (no kind: positions) are still read, from replicas not yet
// upgraded; a replica of before version 3 cannot read version 3 frames.
const (
	frameV1      = 1
	frameV2      = 2
	frameVersion = 3
)

// AppendFrame appends one payload holding msgs to dst.
func AppendFrame(dst []byte, msgs ...tracking.Message) []byte {
	dst = append(dst, frameVersion)
	for _, m := range msgs {
		dst = append(dst, byte(m.Kind))
		dst = binary.AppendUvarint(dst, uint64(len(m.Worker)))
		dst = append(dst, m.Worker...)
		dst = binary.AppendVarint(dst, m.Time)
		dst = binary.AppendVarint(dst, m.Received)
		dst = binary.AppendUvarint(dst, uint64(len(m.JSON)))
		dst = append(dst, m.JSON...)
	}
	return dst
}

// DecodeFrame decodes a payload made by AppendFrame, appending its messages
// (with Team set to team) to dst. The JSON of each message aliases payload, so
// the payload must not be modified afterwards (see tracking.Message).
func DecodeFrame(dst []tracking.Message, team string, payload []byte) ([]tracking.Message, error) {
	if len(payload) == 0 || payload[0] < frameV1 || payload[0] > frameVersion {
		return dst, fmt.Errorf("decode frame: unknown version")
	}
	v1, kinds := payload[0] == frameV1, payload[0] >= 3
	b := payload[1:]
	for len(b) > 0 {
		var m tracking.Message
		m.Team = team
		if kinds {
			if m.Kind = tracking.Kind(b[0]); !m.Kind.Valid() {
				return dst, fmt.Errorf("decode frame: unknown kind %d", b[0])
			}
			b = b[1:]
			if len(b) == 0 {
				return dst, fmt.Errorf("decode frame: bad worker length")
			}
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return dst, fmt.Errorf("decode frame: bad worker length")
		}
		m.Worker = string(b[k : k+int(n)])
		b = b[k+int(n):]
		if m.Time, k = binary.Varint(b); k <= 0 {
			return dst, fmt.Errorf("decode frame: bad time")
		}
		b = b[k:]
		if v1 {
			m.Received = m.Time
		} else if m.Received, k = binary.Varint(b); k <= 0 {
			return dst, fmt.Errorf("decode frame: bad received time")
		} else {
			b = b[k:]
		}
		n, k = binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return dst, fmt.Errorf("decode frame: bad record length")
		}
		m.JSON = b[k : k+int(n) : k+int(n)]
		b = b[k+int(n):]
		dst = append(dst, m)
	}
	return dst, nil
}
