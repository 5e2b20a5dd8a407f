package apispec

import (
	"fmt"
	"strings"
)

// Message is one message of one AsyncAPI channel, with the action of the
// operation that carries it: "receive" (the service receives it from a
// client) or "send" (the service sends it).
type Message struct {
	Channel string // the channel's key: workerWebSocket, teamEvents...
	Address string // its address: /tracking/{team}/ws
	Key     string // the message's key in the channel
	// Transport is the channel's x-transport: websocket or sse.
	Transport string
	Action    string
	// SSEEvent is x-sse-event: the SSE event name, "" for an unnamed data
	// event; only on the SSE channels.
	SSEEvent string
	// Payload is the absolute reference of the payload's schema.
	Payload  string
	Examples []any // the examples' payloads
	Node     map[string]any
}

// Messages lists every message of every operation, by operation then
// message, $refs resolved.
func (d *Docs) Messages() ([]Message, error) {
	ops, _ := d.AsyncAPI["operations"].(map[string]any)
	var out []Message
	for _, name := range sortedKeys(ops) {
		op, _ := ops[name].(map[string]any)
		action, _ := op["action"].(string)
		chv, chAbs, err := d.deref(AsyncAPIFile, op["channel"])
		if err != nil {
			return nil, fmt.Errorf("operation %s: channel: %w", name, err)
		}
		ch, _ := chv.(map[string]any)
		chKey := strings.TrimPrefix(chAbs, AsyncAPIFile+"#/channels/")
		addr, _ := ch["address"].(string)
		msgs, _ := op["messages"].([]any)
		for i, mref := range msgs {
			mv, mAbs, err := d.deref(AsyncAPIFile, mref)
			if err != nil {
				return nil, fmt.Errorf("operation %s: messages[%d]: %w", name, i, err)
			}
			m, ok := mv.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("operation %s: messages[%d] is not an object", name, i)
			}
			key := mAbs[strings.LastIndexByte(mAbs, '/')+1:]
			if r, ok := mref.(map[string]any)["$ref"].(string); ok {
				key = r[strings.LastIndexByte(r, '/')+1:]
			}
			msg := Message{Channel: chKey, Address: addr, Key: key, Action: action, Node: m}
			msg.Transport, _ = ch["x-transport"].(string)
			msg.SSEEvent, _ = m["x-sse-event"].(string)
			payload := m["payload"]
			if pm, ok := payload.(map[string]any); ok {
				if r, ok := pm["$ref"].(string); ok {
					_, msg.Payload, err = d.Resolve(AsyncAPIFile, r)
					if err != nil {
						return nil, fmt.Errorf("operation %s: message %s: payload: %w", name, key, err)
					}
				} else {
					msg.Payload = mAbs + "/payload"
				}
			}
			exs, _ := m["examples"].([]any)
			for _, e := range exs {
				em, _ := e.(map[string]any)
				if p, ok := em["payload"]; ok {
					msg.Examples = append(msg.Examples, p)
				}
			}
			out = append(out, msg)
		}
	}
	return out, nil
}
