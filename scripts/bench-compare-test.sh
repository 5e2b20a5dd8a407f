#!/usr/bin/env bash
# Test of the benchmark gate's verdict (scripts/bench-compare.sh --compare):
# writes result files in `go test -bench` format (the gate's benchmarks with
# their columns: ns/op, cpu-ns/op, custom metrics, B/op, allocs/op; a +-3 %
# spread as on a quiet machine), feeds them through the real benchstat, and
# checks the exit status and the benchmarks named (gate metric: CPU time):
#   noise (every sample different, medians within 4 %)          -> 0
#   two benchmarks 30 % slower, the rest noise                   -> 1, both named, no other
#   10 % slower, significant (under the threshold)               -> 0
#   30 % slower median but samples overlapping (not significant) -> 0
#   40 % faster                                                   -> 0, a notice
#   a baseline benchmark that did not run                         -> 1, named
#   measured on another CPU model                                 -> 1
#   garbage input                                                 -> 2
#   a loaded machine: wall time 50 % up, CPU time as before       -> 0; with -metric wall 1
#   the wall metric on the 30 % slower file                       -> 1
# and the gate's confirmation beside the baseline's code, on a small module
# of its own in a git repository of its own (a benchmark of a loop; its
# baseline, committed, claims half the time it takes here, as if recorded on
# a faster day):
#   the code as committed: fails on the numbers, not beside its commit -> 0
#   the loop twice as long: fails on the numbers and beside its commit  -> 1
#   a shallow clone: its history fetched, then as committed           -> 0
#   no git history: measured again against the numbers               -> 1
# scripts/test.sh runs it before the gate itself. Alone:
#   scripts/bench-compare-test.sh        (KEEP=1 keeps its files and logs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

dir=$(mktemp -d "${TMPDIR:-/tmp}/teamtrack-benchgate-test.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

# gen NAME [BENCH=FACTOR...] [wide=BENCH] [cpu=MODEL] [drop=BENCH] [wall=FACTOR]:
# writes $dir/NAME.txt, six samples per benchmark. The base samples are
# median x (1 + a fixed jitter of up to +-3 %); FACTOR scales a benchmark's
# times (wall and CPU); wide spreads a benchmark's samples over -35..+34 %;
# wall scales the wall time of all (the CPU time stays); each file name
# shifts the jitter, so no two files share a sample.
gen() {
	python3 - "$dir" "$@" <<'PY'
import sys
out, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
factor, wide, drop, cpu, wall = {}, set(), set(), "Intel(R) Xeon(R) Processor", 1.0
for a in args:
    k, v = a.split("=", 1)
    if k == "cpu": cpu = v
    elif k == "drop": drop.add(v)
    elif k == "wide": wide.add(v)
    elif k == "wall": wall = float(v)
    else: factor[k] = float(v)
# name: (median ns/op, extra columns after ns/op)
hub = [("Fanout1Team1000Managers", 108000, "9259259 deliveries/s 108.0 ns/delivery 4675 B/op 3 allocs/op"),
       ("Fanout1000Teams1Manager", 2240, "446428 deliveries/s 2240 ns/delivery 567 B/op 2 allocs/op")]
wire = [("DecodePosition/canonical", 1960, "108.2 MB/s 64 B/op 2 allocs/op"),
        ("DecodePosition/canonical+Message", 3050, "66.5 MB/s 272 B/op 3 allocs/op"),
        ("DecodePosition/legacy", 2430, "54.3 MB/s 64 B/op 2 allocs/op"),
        ("DecodePosition/all-optional", 2240, "102.2 MB/s 80 B/op 2 allocs/op"),
        ("DecodePosition/all-optional+Message", 3310, "69.2 MB/s 320 B/op 3 allocs/op"),
        ("DecodeServerMessage64", 26100, "288.2 MB/s 0 B/op 0 allocs/op"),
        ("DecodeAndEncode", 3010, "67.4 MB/s 272 B/op 3 allocs/op"),
        ("RecordScanner64", 131000, "99.7 MB/s 33368 B/op 8 allocs/op")]
jitter = [-0.030, 0.012, -0.008, 0.027, 0.004, -0.019]
wide_spread = [-0.35, -0.30, 0.28, 0.30, 0.32, 0.34]  # median +30 %, overlapping the base
shift = sum(map(ord, name)) % 6
lines = []
for pkg, benches in (("hub", hub), ("wire", wire)):
    lines += ["goos: linux", "goarch: amd64", f"pkg: github.com/teamtrack/tracking-core/{pkg}", f"cpu: {cpu}"]
    for i in range(6):
        for bench, ns, rest in benches:
            if bench in drop:
                continue
            j = jitter[(i + shift) % 6] * (1 + shift / 10)
            if bench in wide:
                j = wide_spread[i]
            v = ns * factor.get(bench, 1.0) * (1 + j)
            # CPU time a little under the wall time, with a jitter of its own.
            c = v * (0.96 + jitter[(i + shift + 2) % 6] / 3)
            lines.append(f"Benchmark{bench} \t  {int(2e9 / v)}\t  {v * wall:.1f} ns/op\t  {c:.1f} cpu-ns/op\t  {rest}")
    lines += ["PASS", f"ok  \tgithub.com/teamtrack/tracking-core/{pkg}\t12.345s"]
with open(f"{out}/{name}.txt", "w") as f:
    f.write("# a comment line, as in the baseline's header: load average: 0.31, 0.40, 0.52\n\n")
    f.write("\n".join(lines) + "\n")
PY
}

failures=0
fail() {
	printf '[bench-test] FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

# expect NAME WANT_STATUS GOT_STATUS [must_match...] [!must_not_match...]:
# judges a run whose output is $dir/NAME.log.
expect() {
	local name=$1 want=$2 got=$3 pat before=$failures
	shift 3
	if [ "$got" != "$want" ]; then
		fail "$name: exit status $got, want $want"
		tail -n 25 "$dir/$name.log" >&2
		return 0
	fi
	for pat in "$@"; do
		if [ "${pat#!}" != "$pat" ]; then
			if grep -qE -- "${pat#!}" "$dir/$name.log"; then fail "$name: output matches '${pat#!}'"; fi
		elif ! grep -qE -- "$pat" "$dir/$name.log"; then
			fail "$name: output lacks '$pat'"
		fi
	done
	if [ "$failures" = "$before" ]; then printf '[bench-test] ok: %s (exit %s)\n' "$name" "$got" >&2; fi
}

# check NAME WANT_STATUS OLD NEW [must_match...] [!must_not_match...]
check() {
	local name=$1 want=$2 old=$3 new=$4 got=0
	shift 4
	scripts/bench-compare.sh -threshold 20 -metric "${metric:-cpu}" --compare "$dir/$old.txt" "$dir/$new.txt" >"$dir/$name.log" 2>&1 || got=$?
	expect "$name" "$want" "$got" "$@"
}

gen base
gen noise
gen slow30 Fanout1000Teams1Manager=1.30 DecodePosition/legacy=1.30
gen slow10 Fanout1Team1000Managers=1.10 DecodeAndEncode=1.10
gen overlap wide=RecordScanner64
gen fast40 DecodeServerMessage64=0.60
gen dropped drop=RecordScanner64
gen othercpu cpu='AMD EPYC 7B13'
gen loaded wall=1.5
printf 'not a benchmark\n' >"$dir/garbage.txt"

check noise 0 base noise 'ok: 10 benchmarks' '!REGRESSION'
check slow30 1 base slow30 \
	'REGRESSION: Fanout1000Teams1Manager .*\+30\.[0-9] %' 'REGRESSION: DecodePosition/legacy .*\+30\.[0-9] %' \
	'!REGRESSION: (Fanout1Team|DecodePosition/canonical|DecodePosition/all|DecodeServer|DecodeAndEncode|RecordScanner)'
check slow10 0 base slow10 '^Fanout1Team1000Managers .*\+(9\.[5-9]|10\.[0-4])[0-9]*% \(p=0\.00' '!REGRESSION'
check overlap 0 base overlap '^RecordScanner64 .* ~ \(p=0\.[1-9]' '!REGRESSION'
check fast40 0 base fast40 'notice: faster .*DecodeServerMessage64' '!REGRESSION'
check dropped 1 base dropped 'MISSING: RecordScanner64'
check othercpu 1 base othercpu "on 'AMD EPYC 7B13'"
check garbage 2 base garbage 'holds no benchmark results'
check loaded 0 base loaded 'ok: 10 benchmarks, none slower \(cpu-sec/op\)' '^DecodeAndEncode .*\+(49|50)\.[0-9]+% \(p=0\.00'
metric=wall check loaded-wall 1 base loaded 'REGRESSION: DecodeAndEncode .*sec/op .*\+(49|50)\.[0-9] %'
metric=wall check slow30-wall 1 base slow30 'REGRESSION: Fanout1000Teams1Manager .*sec/op' 'REGRESSION: DecodePosition/legacy'

# The confirmation beside the baseline's code (see above).
repo=$dir/repo
mkdir -p "$repo/scripts/lib" "$repo/spin/work" "$repo/bench"
cp scripts/bench-compare.sh "$repo/scripts/"
cp scripts/lib/gotool.sh "$repo/scripts/lib/"
printf 'module example.com/spin\n\ngo 1.26\n' >"$repo/spin/go.mod"
cat >"$repo/spin/work/work.go" <<'GO'
// Package work is a loop to benchmark.
package work

// Rounds of Work's loop.
const Rounds = 20000

// Work runs a xorshift generator Rounds times from seed.
func Work(seed uint64) uint64 {
	x := seed | 1
	for i := 0; i < Rounds; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
GO
cat >"$repo/spin/work/work_test.go" <<'GO'
package work

import (
	"syscall"
	"testing"
	"time"
)

var sink uint64

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSpin(b *testing.B) {
	start := cpuNow()
	for i := 0; i < b.N; i++ {
		sink += Work(uint64(i))
	}
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
}
GO
# The baseline: this machine's header lines and six samples at half the
# time measured now.
(cd "$repo/spin" && GOWORK=off go test -run '^$' -bench '^BenchmarkSpin$' -benchtime 50ms -count 1 -cpu 1 -benchmem ./work/) >"$dir/spin-now.txt"
python3 - "$dir/spin-now.txt" "$repo/bench/baseline.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
head = [l for l in lines if re.match(r"^(goos|goarch|pkg|cpu): ", l)]
res = next(l for l in lines if l.startswith("BenchmarkSpin"))
with open(sys.argv[2], "w") as f:
    f.write("# a baseline of a faster day\n\n" + "\n".join(head) + "\n")
    for j in (-0.02, 0.01, 0.0, 0.015, -0.01, 0.02):
        f.write(re.sub(r"([0-9.]+)( (cpu-)?ns/op)", lambda m: f"{float(m.group(1)) * 0.5 * (1 + j):.1f}{m.group(2)}", res) + "\n")
PY
(cd "$repo" && git init -q && git add -A && git -c user.name=bench-test -c user.email=bench-test@localhost commit -qm 'spin and its baseline')

# gate NAME WANT_STATUS [must_match...] [!must_not_match...]: the gate in
# $repo (or $in_repo).
gate() {
	local name=$1 want=$2 got=0
	shift 2
	(cd "${in_repo:-$repo}" && GOWORK=off BENCH_MODULE=spin BENCH_PACKAGES=./work/ BENCH_REGEXP='^BenchmarkSpin$' \
		BENCH_COUNT=6 BENCH_TIME=50ms BENCH_QUIET_LOAD=1000 BENCH_THRESHOLD=20 BENCH_METRIC=cpu \
		BENCH_BASELINE=bench/baseline.txt scripts/bench-compare.sh -out "$dir/$name.txt") >"$dir/$name.log" 2>&1 || got=$?
	expect "$name" "$want" "$got" "$@"
}

gate beside-same 0 'REGRESSION: Spin .*cpu-sec/op' "building them from the baseline's commit [0-9a-f]{12}" \
	'not confirmed' "no regression against the baseline's code \(commit [0-9a-f]{12}\)"
sed -i 's/^const Rounds = 20000$/const Rounds = 40000/' "$repo/spin/work/work.go"
gate beside-slower 1 "building them from the baseline's commit" \
	"REGRESSION: Spin .*cpu-sec/op .*\+(9[0-9]|1[01][0-9])\.[0-9] %" "regression against the baseline's code \(commit [0-9a-f]{12}\)" '!not confirmed'
sed -i 's/^const Rounds = 40000$/const Rounds = 20000/' "$repo/spin/work/work.go"
git clone -q --depth 1 "file://$repo" "$dir/shallow"
in_repo=$dir/shallow gate shallow 0 'a shallow clone: fetching its history' "building them from the baseline's commit [0-9a-f]{12}" \
	"no regression against the baseline's code"
rm -rf "$repo/.git"
gate no-history 1 "commit is unknown .*: measuring again against its numbers" 'regression against bench/baseline.txt'

if [ "$failures" -gt 0 ]; then
	printf '[bench-test] %d check(s) failed\n' "$failures" >&2
	exit 1
fi
printf '[bench-test] all checks passed\n' >&2
