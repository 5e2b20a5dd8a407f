# shellcheck shell=bash
# go_tool, shared by scripts/lint.sh and scripts/bench-compare.sh (sourced):
# Go tools built once into $BIN_DIR (the caller sets it; by default
# ~/.cache/teamtrack/bin), one file per tool version and Go version. The
# caller defines say (a progress line to stderr) and die (say, then exit 1).

# go_tool NAME VERSION PACKAGE -> path of NAME built from PACKAGE@VERSION.
go_tool() {
	local name=$1 version=$2 pkg=$3
	# Keyed by the Go version too: a linter built by an older Go refuses
	# code of a newer one.
	local bin
	bin="$BIN_DIR/$name-$version-$(go env GOVERSION)"
	if [ -x "$bin" ]; then
		printf '%s\n' "$bin"
		return 0
	fi
	mkdir -p "$BIN_DIR"
	local tmp start=$SECONDS
	tmp=$(mktemp -d "$bin.XXXXXX")
	say "building $name $version into $bin (once; log: $tmp.log)"
	# GOWORK=off and a folder outside the repo: the tool's own go.mod decides
	# its dependencies, not ours.
	if ! (cd "$tmp" && GOWORK=off GOBIN="$tmp" go install "$pkg@$version") >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -rf "$tmp"
		die "go install $pkg@$version failed (log: $tmp.log)"
	fi
	mv -f "$tmp/$name" "$bin"
	rm -rf "$tmp" "$tmp.log"
	say "built $name in $((SECONDS - start))s"
	printf '%s\n' "$bin"
}
