// Package deploycheck reads the deployment files of the repository
// (docker-compose.yml, the Dockerfiles, .dockerignore) and the facts of the
// code they must agree with (the Go workspace, the environment variables each
// binary reads, the README's configuration tables), without a Docker engine.
//
// Its tests are the checks: every variable that docker-compose.yml sets is one
// that the service's code reads and the README documents; ports and service
// names match the product contract; every Dockerfile builds, with only what it
// copies, a static binary of the workspace for a non-root final stage; the
// tracking services can be scaled with `docker compose up --scale`.
package deploycheck
