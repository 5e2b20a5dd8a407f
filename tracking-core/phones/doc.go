// Package phones decodes what two free phone apps send, so that a phone can
// be a worker: Traccar Client (the OsmAnd protocol) and OwnTracks (HTTP
// mode). It is pure decoding and encoding: no HTTP handlers, no storage.
// The parsers return Fix values in the platform's units; the caller maps
// the device to a worker and team, builds the tracking.Position and
// validates it (tracking.Position.Validate stays the rule; the parsers
// apply its coordinate and future-time checks early only to name the
// protocol's own field in the 400).
//
// # OsmAnd protocol, query form (ParseOsmAndQuery)
//
// Sources: the Traccar server's protocol page https://www.traccar.org/osmand/
// and its decoder (traccar/traccar, OsmAndProtocolDecoder.java).
//
// Any HTTP method; parameters in the query string or a form-encoded body.
// id or deviceid (required, the device identifier); lat, lon (degrees; or
// location=lat,lon); timestamp: Unix seconds or milliseconds (Traccar's
// rule, kept here: an integer below 2^31-1 is seconds, else milliseconds),
// ISO 8601, or "yyyy-MM-dd HH:mm:ss" (Traccar reads that in the server's
// zone; we read it as UTC); speed, in knots by default (the page: "Units
// are configurable with knots as a default"); bearing or heading (degrees);
// altitude (m); accuracy (m); batt (battery percent). Also documented and
// ignored here: valid, hdop (a dilution, not metres), cell, wifi, charge,
// driverUniqueId; any other parameter is a custom attribute for Traccar and
// ignored here. The server answers 200 with an empty body (the app only
// looks at the status).
//
// Decisions: a missing timestamp is the receipt time (Traccar does the
// same) and gives no id; missing lat/lon is a 400 naming "lat" (Traccar
// would reuse the last position; we have no fix without them). An ISO
// timestamp whose "+hh:mm" arrived as " hh:mm" (an unencoded '+' in a query
// string decodes to a space) is repaired. An empty optional parameter is
// absent (URL templates leave placeholders empty).
//
// # OsmAnd protocol, JSON form (ParseOsmAndJSON)
//
// Sources: https://www.traccar.org/osmand/ ("Traccar Client, starting from
// version 9.0.0, uses the JSON format"); Traccar Client's configuration
// (traccar/traccar-client, lib/preferences.dart: its locationTemplate and
// params); the newer OsmAndProtocolDecoder.decodeJson; the background
// location SDK it uses (transistorsoft flutter_background_geolocation: the
// Location Data Schema wiki page, and the HttpConfig / batchSync pages on
// pub.dev).
//
// Sent as application/json: {"location": {...}, "device_id": "..."}, where
// location has timestamp (ISO 8601 UTC with milliseconds),
// coords.latitude, longitude, accuracy (m), speed (m/s, not knots),
// heading (degrees), altitude (m); battery.level (0 to 1) and is_charging;
// is_moving, odometer, event, activity.type, extras; and "_" (a copy of
// id, lat, lon and timestamp in query form, so that a server parsing the
// body as a form still finds them). The SDK reports an unknown speed,
// heading, accuracy or battery level as -1 (Traccar's decoder drops a
// negative speed and heading; we drop all four). Traccar Client leaves the
// SDK's batchSync off, so each request carries one location and the SDK's
// buffer drains one request at a time; the SDK's batch upload puts several
// records in one request, which we accept as location being an array (the
// shape is the SDK's, not something Traccar Client is documented to send).
// The caller chooses this parser by Content-Type: application/json, as
// Traccar's server does.
//
// Decisions: a location without timestamp is the receipt time; the SDK's
// record uuid, when a template sends it, becomes the id (stable across
// retries), else FixID of device and time. One bad location in a batch
// fails the whole body (the answer is one status).
//
// # OwnTracks HTTP mode (ParseOwnTracks, AppendOwnTracksResponse)
//
// Sources: the OwnTracks booklet, https://owntracks.org/booklet/tech/http/
// and https://owntracks.org/booklet/tech/json/; the OwnTracks Recorder's
// README ("Friends in HTTP mode") and its populate_friends (owntracks/
// recorder, http.c); issue owntracks/android#458 (friends without tst are
// not updated).
//
// The app POSTs each message as it would publish it over MQTT: one JSON
// object with a mandatory _type (location, transition, waypoint(s), lwt,
// card, cmd, configuration, status, steps, beacon, encrypted, ...), and an
// empty body when a friend is deleted. A location has lat, lon (degrees),
// tst (Unix seconds of the fix), and optionally acc (m), alt (m), vel
// (km/h), cog (degrees), batt (percent), bs (battery status), tid (tracker
// id, "required for http mode"), t (trigger), topic (iOS, Android >= 2.4),
// created_at (when the message was built), conn, inregions, SSID, BSSID.
// Numbers were strings before Android 0.5.11 / iOS 8.0; both are accepted.
// The user and device are in HTTP basic auth (or the Recorder's ?u=&d= /
// X-Limit-U, X-Limit-D); the caller may use a bearer token instead. The
// app counts any HTTP status as delivered (it queues only when the server
// is unreachable), so a 400 drops the message: the error is for the log.
//
// Decisions: non-location types are accepted with no fix (an encrypted
// payload too: we hold no keys; the caller should log it). A location
// without tst is a 400 naming "tst" (the docs make it required; using the
// receipt time would misdate a buffered fix). The body is one object; an
// array is refused: the docs describe no app sending one.
//
// The answer to a POST is a JSON array: [] when there is nothing to tell,
// or location (and card) objects of the teammates. The apps file such a
// location under a pseudo topic made of its tid ("owntracks/_http/<tid>",
// the Recorder's comment), so tid and tst are required and teammates need
// distinct tids; the Recorder also copies vel, alt, cog, acc and vac. A
// card object {"_type":"card","tid","name"[,"face"]} gives the name (and
// picture, base64) the app shows for that tid. We also write topic when the
// caller has one (not required by the apps, in the Recorder's view).
//
// # Ranges and units
//
// Parsers check lat in [-90, 90] and lon in [-180, 180] (finite) and that
// the fix is at most tracking.MaxFutureSkew ahead, naming the protocol's
// field; an old fix is fine: a phone's buffered backlog arrives with old
// times, and the platform marks such positions late (tracking.LateAfter).
// Optional values: speed in m/s (KnotsToMS, KmhToMS), heading folded into
// [0, 360], accuracy >= 0, battery in [0, 100]; a negative value (the apps'
// "unknown") or a battery out of range is absent, not a 400, because a
// buffering app would resend the same fix forever. A value that is not a
// number at all (speed=fast) is a 400 naming the field.
package phones
