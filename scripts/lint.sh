#!/usr/bin/env bash
# Static checks of every module of go.work:
#   tidy        go mod tidy -diff (go.mod and go.sum are tidy)
#   golangci    golangci-lint with .golangci.yml (gofmt and goimports included)
#   vuln        govulncheck against the Go vulnerability database
#   shell       shellcheck over scripts/ and .ci/
#   helm        the Helm chart deploy/helm/teamtrack: helm lint --strict and
#               helm template with each file of its ci/ folder, then the
#               rendered manifests validated against the Kubernetes JSON
#               schemas (strict: unknown fields fail) of KUBE_VERSIONS
# scripts/test.sh runs them all before the tests; alone:
#   scripts/lint.sh [step...]        (every step when none is named)
#
# The Go tools are built once into $TEAMTRACK_CACHE/bin (default
# ~/.cache/teamtrack/bin), one file per version (golangci-lint: ~5 minutes
# on 2 cores the first time). shellcheck comes from Debian.
#
# helm is built from its Go module like the linters (~4 minutes the first
# time). The schemas are those bundled in the PyPI package
# kubernetes-validate (pinned; pip into a venv under $TEAMTRACK_CACHE, once),
# which validates offline: kubeconform would fetch them from GitHub.
#
# govulncheck reads the OSV files of the Go proxy module golang.org/x/vulndb
# (VULNDB_VERSION; `go list -m golang.org/x/vulndb@latest` names the newest).
# A called vulnerability in a dependency fails the step; one in the Go
# standard library (fixed by a newer Go, not by the code) is a notice, and
# fails too with STDLIB_VULNS=fail.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

GOLANGCI_LINT_VERSION=v2.15.0
GOVULNCHECK_VERSION=v1.9.0
HELM_VERSION=v4.3.2
KUBERNETES_VALIDATE_VERSION=1.37.0
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion; the
# preStop sleep action is beta and on from 1.30) and the newest schema.
KUBE_VERSIONS=(1.30.0 1.37.0)
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}

CACHE_DIR=${TEAMTRACK_CACHE:-${HOME:-/root}/.cache/teamtrack}
BIN_DIR=$CACHE_DIR/bin

say() { printf '[lint] %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# shellcheck source=scripts/lib/gotool.sh
. "$root/scripts/lib/gotool.sh"

mapfile -t modules < <(go list -m -f '{{.Dir}}')
[ "${#modules[@]}" -gt 0 ] || die "no module in go.work"
failed=()

step_tidy() {
	local m
	for m in "${modules[@]}"; do
		if ! (cd "$m" && go mod tidy -diff); then
			say "${m#"$root"/}: go.mod/go.sum not tidy (run: cd ${m#"$root"/} && go mod tidy)"
			failed+=(tidy)
		fi
	done
}

step_golangci() {
	local gcl m pkgs=()
	gcl=$(go_tool golangci-lint "$GOLANGCI_LINT_VERSION" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
	for m in "${modules[@]}"; do pkgs+=("./${m#"$root"/}/..."); done
	"$gcl" run --config "$root/.golangci.yml" "${pkgs[@]}" || failed+=(golangci)
}

step_vuln() {
	local gvc db m
	gvc=$(go_tool govulncheck "$GOVULNCHECK_VERSION" golang.org/x/vuln/cmd/govulncheck)
	db=$(cd "$BIN_DIR" && GOWORK=off go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') || true
	if [ -z "$db" ] || [ ! -d "$db/data/osv" ]; then
		say "ERROR: cannot get the vulnerability database golang.org/x/vulndb@$VULNDB_VERSION"
		say "  from the Go module proxy: govulncheck did NOT run"
		failed+=(vuln)
		return 0
	fi
	say "vulnerability database: golang.org/x/vulndb@$VULNDB_VERSION"
	# One scan of the whole workspace, as the binaries are built (the
	# Dockerfiles build in workspace mode too). govulncheck wants to start
	# inside a module; the patterns reach the others.
	local pkgs=() json rc=0
	for m in "${modules[@]}"; do pkgs+=("$m/..."); done
	json=$(mktemp "${TMPDIR:-/tmp}/teamtrack-vuln.XXXXXX")
	(cd "${modules[0]}" && "$gvc" -db "file://$db/data/osv" -format json "${pkgs[@]}") >"$json" || rc=$?
	if [ "$rc" != 0 ]; then
		rm -f "$json"
		say "govulncheck failed (exit $rc)"
		failed+=(vuln)
		return 0
	fi
	python3 -c "$vuln_report" "${STDLIB_VULNS:-notice}" <"$json" || failed+=(vuln)
	rm -f "$json"
}

# Reads govulncheck's JSON stream; prints the vulnerabilities that the code
# calls; exits 1 when one is in a dependency (or in the standard library
# with STDLIB_VULNS=fail).
read -r -d '' vuln_report <<'PY' || true
import json, sys
stdlib_policy = sys.argv[1]
text, dec, pos, called = sys.stdin.read(), json.JSONDecoder(), 0, {}
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    msg, pos = dec.raw_decode(text, pos)
    f = msg.get("finding")
    if not f or not f.get("trace") or not f["trace"][0].get("function"):
        continue  # only the vulnerabilities that the code reaches
    top = f["trace"][0]
    where = next((fr["position"] for fr in reversed(f["trace"]) if (fr.get("position") or {}).get("filename")), None)
    called.setdefault(f["osv"], (top.get("module", "?"), top.get("version", "?"),
                                 f.get("fixed_version", "none"), top.get("package", ""), where))
bad = std = 0
for vid, (mod, ver, fixed, pkg, where) in sorted(called.items()):
    is_std = mod in ("stdlib", "toolchain")
    fatal = not is_std or stdlib_policy == "fail"
    bad += fatal
    std += is_std
    # A position may lack a file (a frame in generated or assembly code).
    at = f" (called from {where.get('filename', '?')}:{where.get('line', '?')})" if where else ""
    print(f"[lint] {'' if fatal else 'NOTICE: '}{vid} in {pkg or mod}@{ver}, "
          f"fixed in {fixed}{at}: https://pkg.go.dev/vuln/{vid}", file=sys.stderr)
if std and stdlib_policy != "fail":
    print(f"[lint] NOTICE: the code calls {std} vulnerabilities of the Go standard library above: "
          "a newer Go fixes them, not this code (STDLIB_VULNS=fail makes them fail)", file=sys.stderr)
print(f"[lint] govulncheck: {bad} failing, {len(called) - bad} notices", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

step_shell() {
	if ! command -v shellcheck >/dev/null 2>&1; then
		[ "$(id -u)" = 0 ] || die "shellcheck is missing: apt-get install shellcheck (as root)"
		say "apt-get install shellcheck"
		local log apt=(apt-get -q -y -o DPkg::Lock::Timeout=300)
		log=$(mktemp "${TMPDIR:-/tmp}/teamtrack-apt.XXXXXX")
		{ "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends shellcheck; } >"$log" 2>&1 ||
			{ tail -n 30 "$log" >&2; die "apt-get install shellcheck failed"; }
		rm -f "$log"
	fi
	local files=()
	mapfile -t files < <(find scripts .ci -type f \( -name '*.sh' -o -path .ci/run \) | sort)
	shellcheck --external-sources "${files[@]}" || failed+=(shell)
}

# py_tool NAME VERSION -> path of NAME from the PyPI package NAME==VERSION,
# installed once into its own venv under $CACHE_DIR.
py_tool() {
	local name=$1 version=$2
	local venv="$CACHE_DIR/$name-$version"
	if [ -x "$venv/bin/$name" ]; then
		printf '%s\n' "$venv/bin/$name"
		return 0
	fi
	local py=/usr/bin/python3 log
	[ -x "$py" ] || py=$(command -v python3) || die "python3 is needed for $name"
	log=$(mktemp "${TMPDIR:-/tmp}/teamtrack-pip.XXXXXX")
	say "pip install $name==$version into $venv (once)"
	rm -rf "$venv"
	if ! "$py" -m venv "$venv" >"$log" 2>&1; then
		# Debian splits ensurepip out of python3.
		[ "$(id -u)" = 0 ] || die "python3 -m venv failed: apt-get install python3-venv (as root)"
		local apt=(apt-get -q -y -o DPkg::Lock::Timeout=300)
		{ "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends python3-venv; } >>"$log" 2>&1 ||
			{ tail -n 30 "$log" >&2; die "apt-get install python3-venv failed"; }
		rm -rf "$venv"
		"$py" -m venv "$venv" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "python3 -m venv failed"; }
	fi
	if ! "$venv/bin/pip" install -q --disable-pip-version-check "$name==$version" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$venv"
		die "pip install $name==$version failed"
	fi
	rm -f "$log"
	printf '%s\n' "$venv/bin/$name"
}

step_helm() {
	local helm kv chart=deploy/helm/teamtrack out values k
	helm=$(go_tool helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm)
	kv=$(py_tool kubernetes-validate "$KUBERNETES_VALIDATE_VERSION")
	out=$(mktemp -d "${TMPDIR:-/tmp}/teamtrack-helm.XXXXXX")
	# Helm's own caches and config, away from the user's.
	export HELM_CACHE_HOME="$out/cache" HELM_CONFIG_HOME="$out/config" HELM_DATA_HOME="$out/data"
	for values in "$chart"/ci/*.yaml; do
		"$helm" lint --strict "$chart" -f "$values" >"$out/lint.log" 2>&1 ||
			{ cat "$out/lint.log" >&2; say "helm lint with $values failed"; failed+=(helm); }
		"$helm" template teamtrack "$chart" -f "$values" --namespace teamtrack \
			--kube-version "${KUBE_VERSIONS[0]}" >"$out/$(basename "$values")" ||
			{ say "helm template with $values failed"; failed+=(helm); }
	done
	# Without the external servers and a token policy it must refuse, saying so.
	if "$helm" template teamtrack "$chart" >/dev/null 2>"$out/refusal.log" ||
		! grep -q 'set redis.addr' "$out/refusal.log"; then
		cat "$out/refusal.log" >&2
		say "the chart renders without redis.addr (or not with that error)"
		failed+=(helm)
	fi
	for k in "${KUBE_VERSIONS[@]}"; do
		"$kv" --strict --quiet -k "$k" "$out"/*.yaml ||
			{ say "the rendered chart is not valid Kubernetes $k"; failed+=(helm); }
	done
	say "chart: $(cat "$out"/*.yaml | grep -c '^kind:') resources rendered with ci/*.yaml, checked against the schemas of Kubernetes ${KUBE_VERSIONS[*]}"
	rm -rf "$out"
}

steps=("$@")
[ "${#steps[@]}" -gt 0 ] || steps=(tidy golangci vuln shell helm)
for s in "${steps[@]}"; do
	case "$s" in
	tidy | golangci | vuln | shell | helm) ;;
	*) die "unknown step '$s' (tidy, golangci, vuln, shell, helm)" ;;
	esac
	start=$SECONDS
	say "$s"
	"step_$s"
	say "$s: $((SECONDS - start))s"
done

if [ "${#failed[@]}" -gt 0 ]; then
	die "failed: $(printf '%s\n' "${failed[@]}" | sort -u | tr '\n' ' ')"
fi
say "all checks passed"
