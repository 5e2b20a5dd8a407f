//go:build tools

// Package consulwrapper only exists so that `go build github.com/hashicorp/consul`
// can be run from this directory with a pinned, checksummed dependency set.
// scripts/test-services.sh builds the real Consul agent from it for integration tests.
package consulwrapper

import (
	_ "github.com/hashicorp/consul"
)
