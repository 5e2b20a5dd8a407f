// Package config is the one reader of environment variables of every binary
// of the platform (the tracking services, the gateway, the simulator, the
// local platform): typed lookups that collect every bad value, so that a
// misconfigured process reports them all at once, each error naming its
// variable; and a record of every variable read with its default, which
// configtest checks against the README's configuration table.
//
// Only cmd/ packages (and the AUTH_* reader in tracking-core/auth) read the
// environment; libraries take a Config struct.
package config
