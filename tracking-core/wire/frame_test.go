package wire_test

import (
	"reflect"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func TestDecodeFrame(t *testing.T) {
	msgs := []tracking.Message{
		{Team: "t", Worker: "w1", Time: 1, Received: 7, JSON: []byte(`{"a":1}`)},
		{Team: "t", Worker: "w-2", Time: -5, Received: 1 << 62, JSON: []byte(`{}`)},
		{Kind: tracking.KindStatus, Team: "t", Worker: "w1", Time: 9, Received: 10, JSON: []byte(`{"status":"idle"}`)},
		{Kind: tracking.KindAlert, Team: "t", Worker: "w-2", Time: 11, Received: 12, JSON: []byte(`{"kind":"enter"}`)},
	}
	payload := wire.AppendFrame(nil, msgs...)
	for _, c := range []struct {
		name    string
		payload []byte
		want    []tracking.Message
	}{
		{"round trip", payload, msgs},
		// A frame of a replica not yet upgraded (version 1, no received time) is
		// still read; its fix time stands in for the received time.
		{"version 1", []byte{1, 2, 'w', '1', 14, 7, '{', '"', 'a', '"', ':', '1', '}'},
			[]tracking.Message{{Team: "t", Worker: "w1", Time: 7, Received: 7, JSON: []byte(`{"a":1}`)}}},
		// Version 2 (no kind): positions.
		{"version 2", []byte{2, 2, 'w', '1', 14, 16, 2, '{', '}'},
			[]tracking.Message{{Team: "t", Worker: "w1", Time: 7, Received: 8, JSON: []byte(`{}`)}}},
	} {
		got, err := wire.DecodeFrame(nil, "t", c.payload)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%s: decoded %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := wire.DecodeFrame(nil, "t", payload[:len(payload)-1]); err == nil {
		t.Fatal("truncated frame decoded")
	}
	if _, err := wire.DecodeFrame(nil, "t", []byte{3, 9, 2, 'w', '1', 14, 16, 2, '{', '}'}); err == nil {
		t.Fatal("a frame with an unknown kind decoded")
	}
}
