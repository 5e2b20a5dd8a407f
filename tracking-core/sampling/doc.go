// Package sampling advises a team's workers how often to send positions,
// from whether any manager is watching the team anywhere: every Watched
// (1s) while a manager has the team's map open, every Unwatched (30s)
// otherwise. A phone reporting every second drains its battery and the
// ingest path for nothing when nobody looks; a manager who opens the map
// wants a live picture at once. The advice is what the worker connection
// sends as {"type":"config","interval":…} (httpapi); this package decides
// when, and with which interval.
//
// Managers and workers of one team are usually on different replicas, so
// the replicas tell each other through the broker's tracking.Mailbox, on
// the team's address (tracking.Address{Team: team}). A replica listens
// there, once per team, while it holds a manager stream of the team
// (Advisor.Watch) or a worker connection (Advisor.Follow). The mail is a
// small JSON object whose "sampling" field says what it is; anything else
// on the address (other components may use it) is ignored:
//
//	{"sampling":"watch","replica":"r1","lease_ms":15000}  r1 has a watcher; renewed every Heartbeat
//	{"sampling":"unwatch","replica":"r1"}                 r1's last watcher left
//	{"sampling":"who","replica":"r2"}                     r2 just started listening: watchers, say so
//
// A watching replica posts "watch" when its first watcher comes, again
// every Heartbeat, and in answer to each "who"; "unwatch" when its last
// watcher leaves or it closes. Every listening replica keeps a lease per
// watching replica, lease_ms long (3 heartbeats of the sender), renewed by
// each "watch" and dropped by "unwatch"; its own watchers count directly
// (its own mail is ignored, so replica names must be unique). The team is
// watched while any lease or local watcher is there.
//
// Followers are told only changes, never the same interval twice in a row:
// Watched as soon as the team becomes watched; Unwatched once it has been
// unwatched for Grace, so that a manager reloading the page or switching
// teams does not make the phones flap (a watch within the grace cancels
// it, and a worker connecting during it is told Watched). A replica that
// starts listening posts "who" and, if no watcher answers within Discover,
// advises Unwatched: a worker connection is told something soon, and is
// corrected at once if a watcher answers late.
//
// Failures: a watching replica that crashes posts no "unwatch"; its lease
// lapses 3 heartbeats after its last "watch", then the grace runs, so the
// phones go back to Unwatched within about 3×Heartbeat+Grace. Mail is at
// most once: a lost "watch" is made good by the next heartbeat, a lost
// "unwatch" by the lease. Broker errors never fail Watch or Follow: a
// failed Listen is retried with a backoff (and, once in place again, posts
// "who" and re-announces this replica's watch, as mail may have been lost
// meanwhile), a failed post is logged and made good by the next heartbeat.
// While the broker is unreachable a replica's followers are advised from
// what it last knew and from its own watchers.
//
// Cost: one goroutine and one timer per team this replica watches or
// follows (none for the others), one broker listen per such team, and per
// watching replica one small post per team every Heartbeat.
package sampling
