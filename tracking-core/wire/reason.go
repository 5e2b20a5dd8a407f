package wire

// Reasons of a reconnect hint: why the server ends a stream and asks the
// client to come back (through the gateway, most likely to another replica).
const (
	ReasonLifetime     = "lifetime"      // the connection's maximum lifetime ran out
	ReasonShutdown     = "shutdown"      // the replica is draining
	ReasonSlow         = "slow"          // the manager could not keep up
	ReasonTokenExpired = "token_expired" // the token presented has expired
	ReasonReplaced     = "replaced"      // a newer connection of the same worker took over
)
