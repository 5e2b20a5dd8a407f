package wire_test

import (
	"reflect"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []tracking.Message{
		{Team: "t", Worker: "w1", Time: 1, Received: 7, JSON: []byte(`{"a":1}`)},
		{Team: "t", Worker: "w-2", Time: -5, Received: 1 << 62, JSON: []byte(`{}`)},
	}
	payload := wire.AppendFrame(nil, msgs...)
	got, err := wire.DecodeFrame(nil, "t", payload)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, msgs) {
		t.Fatalf("decoded %+v, want %+v", got, msgs)
	}
	if _, err := wire.DecodeFrame(nil, "t", payload[:len(payload)-1]); err == nil {
		t.Fatal("truncated frame decoded")
	}
}

// A frame of a replica not yet upgraded (version 1, no received time) is
// still read; its fix time stands in for the received time.
func TestFrameVersion1(t *testing.T) {
	v1 := []byte{1, 2, 'w', '1', 14, 7, '{', '"', 'a', '"', ':', '1', '}'}
	got, err := wire.DecodeFrame(nil, "t", v1)
	if err != nil {
		t.Fatal(err)
	}
	want := []tracking.Message{{Team: "t", Worker: "w1", Time: 7, Received: 7, JSON: []byte(`{"a":1}`)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}
