// Package service wires one tracking replica: listener, hub, API, discovery
// registration and the ordered shutdown. Both strategy binaries (tracking-redis,
// tracking-kafka) are this package plus their Broadcaster; env.go holds the
// environment parsing they share so that the two mains stay thin and alike.
package service
