#!/usr/bin/env bash
# Benchmark regression gate (issue #17): runs the hub fan-out and record
# decoder micro-benchmarks of tracking-core and compares them with the
# committed baseline (bench/baseline.txt, raw `go test -bench` output) using
# benchstat. It fails (exit 1, naming each benchmark) only when a benchmark's
# time per op got worse by more than the threshold (20 %) AND benchstat calls
# the difference significant (p < 0.05, its default Mann-Whitney U test). The
# benchstat table is printed either way.
#
# The time it compares is, by default, the CPU time per op that each of these
# benchmarks reports (cpu-ns/op, tracking-core/testsupport/benchcpu; benchstat
# shows it as cpu-sec/op), not the wall time (sec/op): on this shared 2-core
# machine, another build running beside the benchmark stretches the wall time
# by up to 3x, run to run, but leaves the CPU time of the code nearly as it is
# (a decode at load average 7: wall 3.5 to 9.8 us/op, CPU 3.1 to 3.5 us/op).
# -metric wall gates on sec/op instead (a quiet machine only).
#
# A regression found must show again to fail: the benchmarks that failed are
# built from the baseline's commit (the last commit to change the baseline
# file; BENCH_BASE_REV names another) and from this tree, run in
# alternation, and compared with each other. The machine's speed moves by a
# third from day to day (neighbours on the hypervisor); measured beside each
# other, both builds see the same machine, so what differs is the code.
# Without git history (or with a baseline not yet committed) the failed
# benchmarks are measured once more against the baseline's numbers instead.
#
# Usage:
#   scripts/bench-compare.sh [options]               run, compare with the baseline
#   scripts/bench-compare.sh -update [options]       run, rewrite the baseline
#   scripts/bench-compare.sh --compare OLD NEW       compare two result files only
#
# Options (environment variable in brackets):
#   -count N         samples of each benchmark (BENCH_COUNT, 6): N rounds of
#                    go test -count 1, interleaved (see run_benchmarks);
#                    -update takes twice as many, for a steadier baseline
#   -benchtime D     go test -benchtime of each sample (BENCH_TIME, 1s)
#   -threshold PCT   slow-down that fails, in percent (BENCH_THRESHOLD, 20)
#   -metric cpu|wall CPU time per op (cpu-ns/op) or wall time (sec/op)
#                    (BENCH_METRIC, cpu)
#   -baseline FILE   the baseline (BENCH_BASELINE, bench/baseline.txt)
#   (BENCH_QUIET_LOAD, 1.5; BENCH_QUIET_WAIT, 240) before measuring, the gate
#                    waits up to BENCH_QUIET_WAIT seconds for the 1-minute
#                    load average to fall under BENCH_QUIET_LOAD
#   -out FILE        where this run's results go (default
#                    .tmp/bench/bench-<time>.txt)
#   -h               this help
#
# Exit status: 0 no regression, 1 regression (or a benchmark of the baseline
# that no longer ran), 2 bad usage or unreadable input.
#
# The benchmarks run with -cpu 1 (GOMAXPROCS=1): the machine has 2 cores and
# other builds share it, so a benchmark allowed both cores measures how busy
# the second core is as much as the code; with one P the result depends far
# less on the neighbours; the process's CPU time is then the benchmark's work
# (plus its garbage collection), not idle Ps spinning on the other core; and
# the names carry no -N suffix, so a baseline does not stop matching on a
# machine with another core count. The benchmarks run
# one package at a time (-p 1), never beside the compiler.
#
# Record the baseline on a quiet machine (check `uptime`: 1-minute load well
# under 1): `scripts/bench-compare.sh -update`, then commit bench/baseline.txt.
# Its header comment keeps the date, Go version and load average of the
# recording (benchstat skips comment lines), its cpu: line the CPU model. A baseline recorded on another
# CPU model is refused (compare like with like): record a new one.
#
# benchstat (golang.org/x/perf, BENCHSTAT_VERSION) is built once into
# ~/.cache/teamtrack/bin like the tools of scripts/lint.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
CACHE_DIR=${TEAMTRACK_CACHE:-${HOME:-/root}/.cache/teamtrack}
BIN_DIR=$CACHE_DIR/bin

# The benchmarks of the gate, all in tracking-core: hub fan-out (one team to
# 1,000 managers, 1,000 teams of one) and the record decoders (position decode
# with and without serialising, the ingest codec, the client's server-message
# decoder, the NDJSON record scanner).
# BENCH_MODULE, BENCH_PACKAGES and BENCH_REGEXP replace them (for the
# gate's own test, scripts/bench-compare-test.sh, which gates a small module
# of its own).
BENCH_MODULE=${BENCH_MODULE:-tracking-core}
read -r -a BENCH_PKGS <<<"${BENCH_PACKAGES:-./hub/ ./wire/}"
BENCH_RE=${BENCH_REGEXP:-'^(BenchmarkFanout1Team1000Managers|BenchmarkFanout1000Teams1Manager|BenchmarkDecodePosition|BenchmarkDecodeAndEncode|BenchmarkDecodeServerMessage64|BenchmarkRecordScanner64)$'}

say() { printf '[bench] %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}
usage_error() {
	say "ERROR: $*"
	say "usage: scripts/bench-compare.sh [-update] [-count N] [-benchtime D] [-threshold PCT] [-metric cpu|wall] [-baseline FILE] [-out FILE] | --compare OLD NEW"
	exit 2
}

# shellcheck source=scripts/lib/gotool.sh
. "$root/scripts/lib/gotool.sh"

count=${BENCH_COUNT:-6}
benchtime=${BENCH_TIME:-1s}
threshold=${BENCH_THRESHOLD:-20}
metric=${BENCH_METRIC:-cpu}
baseline=${BENCH_BASELINE:-bench/baseline.txt}
quiet_load=${BENCH_QUIET_LOAD:-1.5}
quiet_wait=${BENCH_QUIET_WAIT:-240}
out=""
mode=gate
cmp_old="" cmp_new=""
while [ "$#" -gt 0 ]; do
	case "$1" in
	-update | --update) mode=update ;;
	-compare | --compare)
		[ "$#" -ge 3 ] || usage_error "$1 needs two files: OLD NEW"
		mode=compare cmp_old=$2 cmp_new=$3
		shift 2
		;;
	-count | -benchtime | -threshold | -metric | -baseline | -out)
		[ "$#" -ge 2 ] || usage_error "$1 needs a value"
		case "$1" in
		-count) count=$2 ;;
		-benchtime) benchtime=$2 ;;
		-threshold) threshold=$2 ;;
		-metric) metric=$2 ;;
		-baseline) baseline=$2 ;;
		-out) out=$2 ;;
		esac
		shift
		;;
	-h | -help | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) usage_error "unknown argument '$1'" ;;
	esac
	shift
done
[[ "$count" =~ ^[1-9][0-9]*$ ]] || usage_error "-count (BENCH_COUNT) must be a positive integer, got '$count'"
[[ "$quiet_load" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "BENCH_QUIET_LOAD must be a load average like 1.5, got '$quiet_load'"
[[ "$quiet_wait" =~ ^[0-9]+$ ]] || usage_error "BENCH_QUIET_WAIT must be whole seconds, got '$quiet_wait'"
[[ "$threshold" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "-threshold (BENCH_THRESHOLD) must be a percentage like 20, got '$threshold'"
case "$metric" in
cpu) unit=cpu-sec/op ;;
wall) unit=sec/op ;;
*) usage_error "-metric (BENCH_METRIC) must be cpu or wall, got '$metric'" ;;
esac
[[ "$benchtime" =~ ^[0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|x)$ ]] || usage_error "-benchtime (BENCH_TIME) must be a duration like 1s or a count like 500x, got '$benchtime'"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# wait_quiet: waits (at most $quiet_wait seconds) for the 1-minute load
# average to fall under $quiet_load, so that the gate does not measure the
# tail of the build or tests that ran just before it (scripts/test.sh runs it
# last: the 1-minute average takes about 1.5 minutes to fall from 8 to 2 once
# they stop). It runs anyway after the wait, saying so: a gate that fails
# then says the load it ran under.
wait_quiet() {
	local waited=0 now
	while :; do
		now=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$now" -v q="$quiet_load" 'BEGIN { exit !(l < q) }' && return 0
		if [ "$waited" -ge "$quiet_wait" ]; then
			say "WARNING: 1-minute load average still $now after ${quiet_wait}s (BENCH_QUIET_WAIT); measuring anyway: a regression found now may be the neighbours'"
			return 0
		fi
		[ "$waited" = 0 ] && say "waiting for the 1-minute load average ($now) to fall under $quiet_load (at most ${quiet_wait}s)"
		sleep 5
		waited=$((waited + 5))
	done
}

# cpu_of FILE -> the value of its first `cpu:` line (empty when none).
cpu_of() { sed -n 's/^cpu: //p' "$1" | head -n 1; }

# run_benchmarks REGEXP FILE [ROUNDS]: the benchmarks matching REGEXP,
# results to FILE. The samples are interleaved: ROUNDS (default $count)
# rounds of go test -count 1, each running every benchmark once, rather than
# one go test -count N that takes a benchmark's N samples in a row: the
# machine's state drifts (frequency, neighbours, the hypervisor), and N
# samples in a row all see the same state, which makes a drift look like a
# significant change to benchstat. Interleaved, a slow minute touches one
# sample of each benchmark.
run_benchmarks() {
	local re=$1 file=$2 rounds=${3:-$count} start=$SECONDS r
	say "go test -bench '$re' -count 1 -benchtime $benchtime -cpu 1, $rounds rounds (load average before: $(load))"
	: >"$file"
	for ((r = 1; r <= rounds; r++)); do
		if ! (cd "$BENCH_MODULE" && go test -p 1 -run '^$' -bench "$re" -count 1 \
			-benchtime "$benchtime" -cpu 1 -benchmem "${BENCH_PKGS[@]}") >>"$file" 2>&1; then
			tail -n 40 "$file" >&2
			die "the benchmarks failed (output: $file)"
		fi
	done
	say "ran in $((SECONDS - start))s (load average after: $(load)); results: $file"
}

# compare OLD NEW -> prints benchstat's table, then the verdict; sets
# REGRESSED to the names of the benchmarks that got slower beyond the
# threshold, significantly; returns 1 on a regression or a benchmark of OLD
# missing from NEW.
REGRESSED=()
compare() {
	local old=$1 new=$2 f
	for f in "$old" "$new"; do
		[ -r "$f" ] || { say "ERROR: cannot read $f"; return 2; }
		grep -q '^Benchmark' "$f" || { say "ERROR: $f holds no benchmark results"; return 2; }
	done
	local old_cpu new_cpu
	old_cpu=$(cpu_of "$old") new_cpu=$(cpu_of "$new")
	if [ "$old_cpu" != "$new_cpu" ]; then
		say "ERROR: $old was measured on cpu '$old_cpu', $new on '$new_cpu':"
		say "  timings of different CPUs do not compare; record a baseline on this machine"
		say "  (scripts/bench-compare.sh -update on a quiet machine, then commit it)"
		return 1
	fi
	local bs csv errs rc=0
	bs=$(go_tool benchstat "$BENCHSTAT_VERSION" golang.org/x/perf/cmd/benchstat)
	errs=$(mktemp "${TMPDIR:-/tmp}/teamtrack-benchstat.XXXXXX")
	# The table for people; the CSV (same numbers, full precision) for the verdict.
	"$bs" -alpha 0.05 "$old" "$new" 2>"$errs" || { cat "$errs" >&2; rm -f "$errs"; say "ERROR: benchstat failed"; return 2; }
	csv=$("$bs" -alpha 0.05 -format csv "$old" "$new" 2>"$errs") || { cat "$errs" >&2; rm -f "$errs"; say "ERROR: benchstat failed"; return 2; }
	rm -f "$errs"
	local verdict
	verdict=$(python3 -c "$verdict_py" "$threshold" 0.05 "$unit" <<<"$csv") || rc=$?
	REGRESSED=()
	local line
	while IFS= read -r line; do
		case "$line" in
		"REGRESSED "*) REGRESSED+=("${line#REGRESSED }") ;;
		"") ;;
		*) say "$line" ;;
		esac
	done <<<"$verdict"
	return "$rc"
}

# Reads benchstat -format csv on stdin (tables split by blank lines, each
# preceded by its config lines such as "pkg: ..."; header rows ",OLD,,NEW,,,"
# and ",UNIT,CI,UNIT,CI,vs base,P"; then NAME,old,CI,new,CI,delta,"p=.. n=..").
# Prints "REGRESSED name" per regressed benchmark and a line of explanation
# each; exits 1 on a regression or on a benchmark the old file has and the
# new one lacks, 2 when no comparison of the metric was found at all.
read -r -d '' verdict_py <<'PY' || true
import csv, re, sys
threshold, alpha, metric = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
unit, pkg, seen, bad, missing, faster = None, "", 0, [], [], []
for raw in sys.stdin.read().splitlines():
    if not raw.strip():
        unit = None
        continue
    m = re.match(r"^([a-z][^\s:]*): (.*)$", raw)
    if m and not raw.startswith(","):
        if m.group(1) == "pkg":
            pkg = m.group(2)
        continue
    row = next(csv.reader([raw]))
    if row[0] == "":
        if len(row) >= 7 and row[5] == "vs base":
            unit = row[1]
        continue
    if unit != metric or row[0] == "geomean":
        continue
    name = row[0]
    old = row[1].strip() if len(row) > 1 else ""
    new = row[3].strip() if len(row) > 3 else ""
    if old and not new:
        missing.append(name)
        continue
    if not old:
        print(f"notice: {name} ({pkg}) is not in the baseline: record a new one (-update)")
        continue
    seen += 1
    pm = re.search(r"p=([0-9.]+)", row[6] if len(row) > 6 else "")
    p = float(pm.group(1)) if pm else 1.0
    change = (float(new) / float(old) - 1) * 100
    if change > threshold and p < alpha:
        bad.append(name)
        print(f"REGRESSED {name}")
        print(f"REGRESSION: {name} ({pkg}): {metric} {float(old)*1e9:.1f} ns -> {float(new)*1e9:.1f} ns, "
              f"{change:+.1f} % (p={p}, threshold +{threshold:g} %)")
    elif change < -threshold and p < alpha:
        faster.append(name)
for name in missing:
    print(f"MISSING: {name} has {metric} in the baseline but not in this run: renamed, removed, or no longer reporting it? "
          "record a new baseline (-update)")
if faster:
    print(f"notice: faster than the baseline by more than {threshold:g} %: {', '.join(faster)}; "
          "consider recording a new one (-update) so that the gate watches the new level")
if seen == 0 and not missing:
    print(f"ERROR: benchstat compared no {metric} result: do the two files hold the same benchmarks?")
    sys.exit(2)
if bad or missing:
    sys.exit(1)
print(f"ok: {seen} benchmarks, none slower ({metric}) by more than {threshold:g} % with p < {alpha:g}")
PY

# tops_of NAME... -> "BenchmarkA|BenchmarkB": the top-level benchmarks of
# the names (a sub-benchmark runs under its parent).
tops_of() { printf '%s\n' "$@" | sed 's,/.*,,' | sort -u | sed 's/^/Benchmark/' | paste -sd '|'; }

# baseline_rev -> the commit that last changed the baseline (BENCH_BASE_REV
# names another): the code the baseline measured. Nothing when there is no
# git history, or when the baseline has changes not committed (then it
# measured the working tree), or in a shallow clone whose history cannot be
# fetched.
baseline_rev() {
	if [ -n "${BENCH_BASE_REV:-}" ]; then
		git rev-parse --verify -q "$BENCH_BASE_REV^{commit}" 2>/dev/null || true
		return 0
	fi
	git rev-parse --git-dir >/dev/null 2>&1 || return 0
	# In a shallow clone the oldest commit there seems to add every file: its
	# history is fetched first, when the remote is there.
	if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" != false ]; then
		say "a shallow clone: fetching its history (git fetch --unshallow) to find the baseline's commit"
		timeout 120 git fetch -q --unshallow >&2 </dev/null || return 0
	fi
	git diff --quiet HEAD -- "$baseline" 2>/dev/null || return 0
	git log -1 --format=%H -- "$baseline" 2>/dev/null || true
}

# confirm_against_numbers NAME...: measures the named benchmarks again and
# compares them with the baseline's numbers (when its code cannot be built).
confirm_against_numbers() {
	local tops
	tops=$(tops_of "$@")
	wait_quiet
	run_benchmarks "^($tops)\$" "$out.confirm"
	grep -E "^(Benchmark($(printf '%s\n' "$@" | sed 's,/.*,,' | sort -u | paste -sd '|'))([/[:space:]]|$)|[a-z][^ :]*: )" \
		"$baseline" >"$out.confirm-base"
	local rc=0
	compare "$out.confirm-base" "$out.confirm" || rc=$?
	rm -f "$out.confirm-base"
	return "$rc"
}

# confirm_beside_baseline_code NAME...: the named benchmarks, built from the
# baseline's commit (baseline_rev) and from this tree, run in alternation
# (count rounds; each round runs both, the order swapped every round), then
# compared with each other. The baseline's numbers were taken on another day:
# this machine's speed moves by a third from day to day (a hypervisor's
# neighbours, steal), which no threshold that still catches a regression
# absorbs. Measured beside each other, both builds see the same machine, so
# what differs is the code. Falls back to confirm_against_numbers when the
# baseline's commit is unknown or its benchmarks do not build.
confirm_beside_baseline_code() {
	local rev tops work
	rev=$(baseline_rev)
	if [ -z "$rev" ]; then
		say "the baseline's commit is unknown (no git history, a shallow clone, or $baseline not committed): measuring again against its numbers"
		against="$baseline"
		confirm_against_numbers "$@"
		return
	fi
	tops=$(tops_of "$@")
	work=$(mktemp -d "${TMPDIR:-/tmp}/teamtrack-benchbase.XXXXXX")
	mkdir -p "$work/base"
	say "building them from the baseline's commit ${rev:0:12} (the last to change $baseline) and from this tree"
	local pkg name built=()
	if ! git archive "$rev" | tar -x -C "$work/base" 2>"$work/log"; then
		cat "$work/log" >&2
		rm -rf "$work"
		say "cannot extract ${rev:0:12}: measuring again against the baseline's numbers"
		against="$baseline"
		confirm_against_numbers "$@"
		return
	fi
	for pkg in "${BENCH_PKGS[@]}"; do
		name=$(basename "$pkg")
		if ! (cd "$work/base/$BENCH_MODULE" && go test -c -o "$work/base-$name.test" "$pkg") >"$work/log" 2>&1; then
			tail -n 20 "$work/log" >&2
			rm -rf "$work"
			say "the baseline's commit ${rev:0:12} does not build: measuring again against the baseline's numbers"
			against="$baseline"
			confirm_against_numbers "$@"
			return
		fi
		(cd "$BENCH_MODULE" && go test -c -o "$work/cur-$name.test" "$pkg") >"$work/log" 2>&1 || {
			tail -n 20 "$work/log" >&2
			rm -rf "$work"
			die "the benchmarks of this tree do not build ($pkg)"
		}
		# A package without test files builds no binary.
		[ -x "$work/base-$name.test" ] && [ -x "$work/cur-$name.test" ] && built+=("$pkg")
	done
	against="the baseline's code (commit ${rev:0:12}) measured beside it"
	wait_quiet
	say "the baseline's code and this tree's, in alternation: -test.bench '^($tops)\$' -test.count 1 -test.benchtime $benchtime -test.cpu 1, $count rounds (load average before: $(load))"
	local r side order dir file start=$SECONDS
	: >"$out.baseline-code"
	: >"$out.confirm"
	for ((r = 1; r <= count; r++)); do
		if ((r % 2)); then order="base cur"; else order="cur base"; fi
		for pkg in "${built[@]}"; do
			name=$(basename "$pkg")
			for side in $order; do
				if [ "$side" = base ]; then
					dir=$work/base/$BENCH_MODULE/$pkg file=$out.baseline-code
				else
					dir=$root/$BENCH_MODULE/$pkg file=$out.confirm
				fi
				if ! (cd "$dir" && "$work/$side-$name.test" -test.run '^$' -test.bench "^($tops)\$" -test.count 1 \
					-test.benchtime "$benchtime" -test.cpu 1 -test.benchmem) >>"$file" 2>&1; then
					tail -n 40 "$file" >&2
					rm -rf "$work"
					die "the benchmarks failed ($side, $pkg; output: $file)"
				fi
			done
		done
	done
	rm -rf "$work"
	say "ran in $((SECONDS - start))s (load average after: $(load)); results: $out.baseline-code (the baseline's code), $out.confirm (this tree)"
	local rc=0
	compare "$out.baseline-code" "$out.confirm" || rc=$?
	if [ "$rc" = 0 ]; then
		say "not confirmed: the baseline's code is as slow on this machine today; the machine, not the code, differs from the baseline's day"
	fi
	return "$rc"
}

case "$mode" in
compare)
	rc=0
	compare "$cmp_old" "$cmp_new" || rc=$?
	exit "$rc"
	;;
update)
	tmp=$(mktemp "${TMPDIR:-/tmp}/teamtrack-bench.XXXXXX")
	before=$(load)
	if awk -v l="${before%% *}" 'BEGIN { exit !(l >= 1) }'; then
		say "WARNING: 1-minute load average ${before%% *}: the baseline should be recorded on a quiet machine (under 1)"
	fi
	run_benchmarks "$BENCH_RE" "$tmp" $((2 * count))
	mkdir -p "$(dirname "$baseline")"
	{
		printf '# Baseline of scripts/bench-compare.sh (benchstat reads only the result lines).\n'
		printf '# Recorded %s, %s, load average (1, 5, 15 min) %s before and %s after,\n' \
			"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(go env GOVERSION)" "$before" "$(load)"
		printf '# %s rounds of -count 1 -benchtime %s -cpu 1 -benchmem. Re-record on a quiet machine:\n' $((2 * count)) "$benchtime"
		printf '# scripts/bench-compare.sh -update\n\n'
		grep -v '^\(PASS\|ok \)' "$tmp"
	} >"$baseline"
	rm -f "$tmp"
	say "baseline written: $baseline (commit it)"
	;;
gate)
	[ -r "$baseline" ] || die "no baseline at $baseline: record one with scripts/bench-compare.sh -update"
	if [ -z "$out" ]; then
		mkdir -p .tmp/bench
		out=.tmp/bench/bench-$(date -u +%Y%m%dT%H%M%SZ).txt
	fi
	mkdir -p "$(dirname "$out")"
	wait_quiet
	run_benchmarks "$BENCH_RE" "$out"
	against="$baseline"
	rc=0
	compare "$baseline" "$out" || rc=$?
	if [ "$rc" = 1 ] && [ "${#REGRESSED[@]}" -gt 0 ]; then
		# A regression must show again, against the baseline's code measured
		# beside this code (see confirm_beside_baseline_code).
		first=("${REGRESSED[@]}")
		say "again, to confirm: ${first[*]}"
		rc=0
		confirm_beside_baseline_code "${first[@]}" || rc=$?
	fi
	case "$rc" in
	0) say "no regression against $against" ;;
	1) die "regression against $against (${REGRESSED[*]:-see above}); results: $out" ;;
	*)
		say "ERROR: could not compare (exit $rc)"
		exit 2
		;;
	esac
	;;
esac
