// Package platform runs the whole tracking platform on one machine with one
// command: embedded brokers when no real ones are configured, two replicas of
// each strategy, the gateway and the simulator, supervised as child processes
// and stopped together. It also holds the checks of the deployment files
// (docker-compose.yml, the Dockerfile) against the code and the README
// (deploycheck).
package platform
