// Package discovery tells the gateway which tracking replicas are alive.
//
// A tracking replica announces itself with Register: a Consul service
// registration with an HTTP check on its readiness endpoint, kept in place in
// the background (retried while the agent is unreachable, restored when the
// agent loses it) until Deregister. A crashed replica that never deregisters
// is removed by Consul once its check has been critical for DeregisterAfter.
//
// The gateway reads the healthy replicas of a service through a Resolver:
// Consul (NewConsul) follows them with blocking queries and keeps the last
// known set while the agent is unreachable (and, for a grace, when it comes
// back empty after a restart); DNS (NewDNS) looks up the address records of
// one name per service, such as a Kubernetes headless Service, every few
// seconds; Static serves a fixed list for laptops and tests without Consul.
package discovery
