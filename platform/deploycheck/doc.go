// Package deploycheck's tests check the deployment files against the code
// and the README, without a Docker engine: docker-compose.yml as Docker
// reads it (compose-go's loader) has the services of the product contract,
// each Go one built from the root Dockerfile with its module as MODULE; it
// sets only variables the README documents for that service (which the
// binaries' own tests check against what they read); ports, addresses and
// scaling are what the code and the contract expect; the Dockerfile copies
// the go.mod of every module of the workspace.
//
//	(cd platform && go test ./deploycheck/)
package deploycheck
