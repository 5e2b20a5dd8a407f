#!/usr/bin/env bash
# Builds the browser view into dist/, which the Go package embeds.
#
#   team-tracking-view/build.sh          build when something changed
#   team-tracking-view/build.sh --force  build anyway
#
# Idempotent and quiet: `npm ci` runs only when node_modules is missing or
# package-lock.json changed since the last install, and the bundle is made
# only when a source changed or dist/ lacks a build. Output appears only on
# failure. Needs Node.js 20+ and npm; the npm registry is the only network
# access (for npm ci).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
web="$here/web"
dist="$here/dist"
force=false
case "${1:-}" in
--force) force=true ;;
"") ;;
*)
	echo "usage: $0 [--force]" >&2
	exit 2
	;;
esac

for tool in node npm; do
	command -v "$tool" >/dev/null || {
		echo "build.sh: $tool not found (the view needs Node.js 20+ and npm)" >&2
		exit 1
	}
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run CMD...: runs quietly in web/, shows the output and fails if it fails.
run() {
	if ! (cd "$web" && "$@") >"$log" 2>&1; then
		echo "build.sh: '$*' failed in $web:" >&2
		cat "$log" >&2
		exit 1
	fi
}

digest() { sha256sum | cut -d' ' -f1; }

# Install dependencies when the lock file changed since the last install.
lock_sum=$(digest <"$web/package-lock.json")
lock_stamp="$web/node_modules/.team-tracking-view-lock"
if [[ ! -f "$lock_stamp" || "$(cat "$lock_stamp")" != "$lock_sum" ]]; then
	run npm ci --no-audit --no-fund --loglevel=error
	echo "$lock_sum" >"$lock_stamp"
fi

# Build when the sources (or the installed dependencies) changed.
src_sum=$(cd "$web" && {
	echo "$lock_sum"
	find src sw index.html styles.css build.mjs package.json tsconfig.json ../client/src ../client/examples ../client/package.json ../client/tsconfig.json -type f -print0 | sort -z | xargs -0 sha256sum
} | digest)
src_stamp="$web/node_modules/.team-tracking-view-build"
if $force || [[ ! -f "$dist/index.html" || ! -f "$src_stamp" || "$(cat "$src_stamp")" != "$src_sum" ]]; then
	run npm run --silent build
	echo "$src_sum" >"$src_stamp"
fi
