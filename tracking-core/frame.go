package tracking

import (
	"encoding/binary"
	"fmt"
)

// The frame codec packs messages of one team into one broker payload: a version
// byte, then per message uvarint(len worker) worker, varint time,
// uvarint(len json) json. The team travels in the channel or key, not the frame.
// It exists so that a receiving replica learns worker and time without parsing
// JSON, and so that one broker message can carry a batch.
const frameVersion = 1

// AppendFrame appends one payload holding msgs to dst.
func AppendFrame(dst []byte, msgs ...Message) []byte {
	dst = append(dst, frameVersion)
	for _, m := range msgs {
		dst = binary.AppendUvarint(dst, uint64(len(m.Worker)))
		dst = append(dst, m.Worker...)
		dst = binary.AppendVarint(dst, m.Time)
		dst = binary.AppendUvarint(dst, uint64(len(m.JSON)))
		dst = append(dst, m.JSON...)
	}
	return dst
}

// DecodeFrame decodes a payload made by AppendFrame, appending its messages
// (with Team set to team) to dst. The JSON of each message aliases payload.
func DecodeFrame(dst []Message, team string, payload []byte) ([]Message, error) {
	if len(payload) == 0 || payload[0] != frameVersion {
		return dst, fmt.Errorf("decode frame: unknown version")
	}
	b := payload[1:]
	for len(b) > 0 {
		var m Message
		m.Team = team
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return dst, fmt.Errorf("decode frame: bad worker length")
		}
		m.Worker = string(b[k : k+int(n)])
		b = b[k+int(n):]
		t, k := binary.Varint(b)
		if k <= 0 {
			return dst, fmt.Errorf("decode frame: bad time")
		}
		m.Time = t
		b = b[k:]
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
