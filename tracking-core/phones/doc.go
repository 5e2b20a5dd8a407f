// Package phones decodes what two free phone apps send, so that a phone can
// be a worker: Traccar Client (the OsmAnd protocol) and OwnTracks (HTTP
// mode). It is pure decoding and encoding: no HTTP handlers, no storage.
// The parsers return Fix values in the platform's units; the caller maps
// the device to a worker and team, builds the tracking.Position and
// validates it.
package phones
