#!/usr/bin/env bash
# Release builds: the four binaries for linux and darwin on amd64 and arm64,
# stamped with their version, commit and build date (tracking-core/buildinfo),
# into dist/ (git-ignored) with a SHA256SUMS file; then, with IMAGES=1, the
# images from the Dockerfile (needs a Docker engine).
#   scripts/release.sh [VERSION]          build everything (VERSION default:
#                                         `git describe --tags --always --dirty`)
#   scripts/release.sh ldflags VERSION COMMIT DATE
#                                         print the -ldflags a release uses
#                                         (the tests build with them too)
# Environment: DIST (default dist), TARGETS (default "linux/amd64
# linux/arm64 darwin/amd64 darwin/arm64"), BINARIES (default the four),
# IMAGES=1 to build the images too, IMAGE_PREFIX (default teamtrack/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

BUILDINFO=github.com/teamtrack/tracking-core/buildinfo

say() { printf '[release] %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# ldflags VERSION COMMIT DATE -> the linker flags: no symbol tables, and the
# three buildinfo variables.
ldflags() {
	printf -- '-s -w -X %s.version=%s -X %s.commit=%s -X %s.date=%s' \
		"$BUILDINFO" "$1" "$BUILDINFO" "$2" "$BUILDINFO" "$3"
}

if [[ ${1:-} == ldflags ]]; then
	[[ $# -eq 4 ]] || die "usage: scripts/release.sh ldflags VERSION COMMIT DATE"
	ldflags "$2" "$3" "$4"
	echo
	exit 0
fi

VERSION=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then
	COMMIT+=-dirty
fi
# The commit's time, not the clock's, so that a rebuild of the same commit
# gives the same bytes (SOURCE_DATE_EPOCH overrides, as reproducible builds do).
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
	DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
	DATE=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
fi
DIST=${DIST:-dist}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
BINARIES=${BINARIES:-api-gateway tracking-redis tracking-kafka team-simulator}
flags=$(ldflags "$VERSION" "$COMMIT" "$DATE")

# The gateway embeds the view: a release without it serves a page saying
# how to build it. Build the view first (team-tracking-view/build.sh).
if [[ ! -f team-tracking-view/dist/index.html ]]; then
	say "note: team-tracking-view/dist is not built: the gateway will serve a 'view not built' page (run team-tracking-view/build.sh first)"
fi

rm -rf "$DIST"
mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd -P) # absolute: the builds run in each module's folder
say "version $VERSION, commit $COMMIT, date $DATE -> $DIST/"
for target in $TARGETS; do
	goos=${target%/*} goarch=${target#*/}
	for bin in $BINARIES; do
		[[ -d $bin/cmd/$bin ]] || die "no command $bin/cmd/$bin"
		name=${bin}_${VERSION}_${goos}_${goarch}
		mkdir -p "$DIST/$name"
		say "build $name"
		# Static (no cgo: sqlite is modernc's pure Go), no local paths.
		(cd "$bin" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch \
			go build -trimpath -ldflags "$flags" -o "$DIST/$name/$bin" "./cmd/$bin")
		cp LICENSE README.md CHANGELOG.md "$DIST/$name/"
		tar -C "$DIST" -czf "$DIST/$name.tar.gz" "$name"
		rm -rf "${DIST:?}/$name"
	done
done
(cd "$DIST" && sha256sum -- *.tar.gz >SHA256SUMS)
say "wrote $(find "$DIST" -name '*.tar.gz' | wc -l) archives and $DIST/SHA256SUMS"

if [[ ${IMAGES:-0} == 1 ]]; then
	command -v docker >/dev/null || die "IMAGES=1 needs the docker CLI and an engine"
	for bin in $BINARIES; do
		image=${IMAGE_PREFIX:-teamtrack/}$bin:$VERSION
		say "image $image"
		docker build --build-arg MODULE="$bin" --build-arg VERSION="$VERSION" \
			--build-arg COMMIT="$COMMIT" --build-arg DATE="$DATE" -t "$image" .
	done
fi
