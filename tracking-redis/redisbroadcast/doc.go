// Package redisbroadcast is the Redis strategy's Broadcaster.
//
// Each team has one channel, ChannelPrefix+team. A replica SUBSCRIBEs to a
// team's channel while it has at least one local subscription to the team and
// UNSUBSCRIBEs with the last one, on a single pub/sub connection: never a
// pattern subscription, so its intake follows its managers' teams.
//
// Publish only queues. One goroutine drains the queue and sends what it found
// in one pipeline: per team, an HSET of the last known positions, a PEXPIRE,
// and one PUBLISH whose payload is a batch of frames (wire.AppendFrame).
// The last known positions live in the hash ChannelPrefix+"last:"+team, one
// field per worker, so any replica can serve the snapshot; a worker silent for
// longer than StaleAfter is left out and removed, and an idle team's hash
// expires as a whole.
//
// Mail (tracking.Mailbox) has a channel per address, ChannelPrefix+"to:"+
// team+"/"+worker (and ChannelPrefix+"to:"+team+"/" for the team), SUBSCRIBEd
// on the same connection while this replica has a Listen of the address, so
// a replica receives only the mail of the workers it holds; Post queues and
// one sender PUBLISHes in pipelines, in order (see mailbox.go).
//
// After a Redis restart go-redis reconnects and resubscribes by itself; the
// reader backs off while Redis is unreachable and Ready reports it.
package redisbroadcast
