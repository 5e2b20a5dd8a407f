// Package balance orders the healthy instances of a service for one request:
// least connections for worker streams, rendezvous hashing of the team for
// manager streams. Every order puts instances that recently refused a
// connection last, so a dead instance is skipped until discovery drops it.
package balance
