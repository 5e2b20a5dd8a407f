// Package buildinfo is the version, commit and build date of every binary of
// the platform, in one place: the -version flag, the /healthz body and the
// build_info metric all read Get.
//
// A release sets them at link time (scripts/release.sh):
//
//	go build -ldflags "-X github.com/teamtrack/tracking-core/buildinfo.version=v1.2.0
//	  -X github.com/teamtrack/tracking-core/buildinfo.commit=0123abc
//	  -X github.com/teamtrack/tracking-core/buildinfo.date=2026-12-03T10:00:00Z"
//
// Without them (go build, go install, go run) Get falls back on what the Go
// toolchain stamps into the binary (runtime/debug.ReadBuildInfo): the main
// module's version (set by go install module@version), vcs.revision and
// vcs.time (set when building inside a git checkout).
package buildinfo
