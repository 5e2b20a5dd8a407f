// Package defcache keeps, on each replica, the alert definitions of every
// team (fences; issue 13) as the evaluation on the ingest path needs them:
// per team an immutable *geofence.Index, swapped atomically when a change
// arrives. A Cache polls alerting.Store.Changes (an indexed range read,
// usually empty) every Poll, so that a fence created, changed or deleted
// through any replica is live on every replica within Poll plus one read;
// the replica that made the change calls Poke to see it at once.
//
// Reading (Fences) is an atomic load and a map lookup: no lock, no
// allocation, for teams with fences and without.
package defcache
