// Package deploycheck's tests check the deployment files against the code
// and the README, without a Docker engine: docker-compose.yml as Docker
// reads it (compose-go's loader) has the services of the product contract,
// each Go one built from the root Dockerfile with its module as MODULE; it
// sets only variables the README documents for that service (which the
// binaries' own tests check against what they read); ports, addresses and
// scaling are what the code and the contract expect; the Dockerfile copies
// the go.mod of every module of the workspace. The observability files of
// deploy/ are checked too: every PromQL expression of the Grafana
// dashboards and the alerting rules parses (Prometheus's own parser and
// rule loader; prometheus.yml with its config loader) and names only
// metrics the code exports (found in the code's
// prometheus.*Opts literals, and checked against a running replica); the
// dashboards use core panels, the provisioned datasource and a schema the
// compose file's Grafana reads; the profile observability mounts them.
// The Helm chart is checked by scripts/lint.sh helm (helm lint, helm
// template, the rendered manifests against the Kubernetes schemas).
//
//	(cd platform && go test ./deploycheck/)
package deploycheck
