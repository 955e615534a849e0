#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What seccomptrace costs the traced system, run in the guest by `make perf`
# (one boot, so that the numbers compare). Under TCG only ratios mean
# something: every kernel-side cost is also given in probe units, the
# extra time of an empty fentry+fexit pair on __seccomp_filter measured in
# the same boot (bpftrace): (with - none) / (pair - none).
#
#   vmtest/perf.sh [--long SECONDS]
#
# Table: ns per getppid call (median of 3 runs of PERF_CALLS calls) under
# three filters, with nothing attached, the empty pair, `watch --pid 1`
# (the task is not targeted) and `watch` targeting it; the probes' ns per
# run (kernel.bpf_stats_enabled); then a flood of 2 threads x PERF_FLOOD
# ERRNO decisions under `watch --output json > /dev/null` and the records
# lost. --long also runs watch for SECONDS under a sustained flood and
# prints its RSS at the start and the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ST=${PERF_SECCOMPTRACE:-build/seccomptrace}
LOOP=${PERF_LOOP:-build/loop}
N=${PERF_CALLS:-100000}
FLOOD=${PERF_FLOOD:-1000000}
LONG=0
[[ ${1:-} == --long ]] && LONG=${2:?--long needs seconds}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

sysctl -qw kernel.bpf_stats_enabled=1

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# ns per call from loop's line: "loop MODE: N calls x T threads: X ns per call"
nsof() { sed -n 's/^loop .* \([0-9][0-9]*\) ns per call$/\1/p'; }

# waitfor FILE [PATTERN]: until FILE exists (with a line matching PATTERN):
# a tracer is attached, watch's ready file is written.
waitfor() {
	local i
	for ((i = 0; i < 600; i++)); do
		if [[ $# -lt 2 ]]; then [[ -e $1 ]] && return 0; else grep -q "$2" "$1" 2>/dev/null && return 0; fi
		sleep 0.1
	done
	echo "perf: timed out waiting for '$2' in $1" >&2
	cat "$1" >&2
	return 1
}

plain() { for _ in 1 2 3; do "$LOOP" "$1" "$N" 2>&1 | nsof; done | median; }

declare -A none pair untargeted targeted
for mode in allow argcheck errno; do none[$mode]=$(plain $mode); done

bpftrace -e 'kfunc:__seccomp_filter {} kretfunc:__seccomp_filter {}' >"$tmp/bt" 2>&1 &
bt=$!
waitfor "$tmp/bt" 'Attaching 2 probes'
for mode in allow argcheck errno; do pair[$mode]=$(plain $mode); done
kill -INT $bt; wait $bt || true

"$ST" watch --pid 1 --output json --prog-stats --ready-file "$tmp/ready" >/dev/null 2>"$tmp/untargeted" &
w=$!
waitfor "$tmp/ready"
for mode in allow argcheck errno; do untargeted[$mode]=$(plain $mode); done
kill -INT $w; wait $w || true

for mode in allow argcheck errno; do
	for _ in 1 2 3; do
		"$ST" watch --output json --prog-stats -- "$LOOP" $mode "$N" 2>"$tmp/t.$mode" >/dev/null || true
		nsof <"$tmp/t.$mode"
	done | median >"$tmp/m.$mode"
	targeted[$mode]=$(cat "$tmp/m.$mode")
done

pu() { awk -v x="$1" -v n="$2" -v p="$3" 'BEGIN { if (p - n <= 0) print "?"; else printf "%.1f", (x - n) / (p - n) }'; }
echo
echo "## seccomptrace perf: $(uname -r), $(nproc) vCPUs (TCG), $(date -u +%Y-%m-%d), $N getppid calls, median of 3"
echo
echo "| filter | none | empty pair | watch --pid 1 (not targeted) | watch (targeted) | probe units: not targeted | targeted |"
echo "|---|---|---|---|---|---|---|"
for mode in allow argcheck errno; do
	n=${none[$mode]} p=${pair[$mode]} u=${untargeted[$mode]} t=${targeted[$mode]}
	echo "| $mode | $n | $p (+$((p - n))) | $u (+$((u - n))) | $t (+$((t - n))) | $(pu "$u" "$n" "$p") | $(pu "$t" "$n" "$p") |"
done
echo
echo "Probes, ns per run (bpf_stats): the untargeted runs (all three filters), then each filter's targeted runs:"
echo
echo "| filter | program | runs | ns per run |"
echo "|---|---|---|---|"
cp "$tmp/untargeted" "$tmp/t.untargeted"
for mode in untargeted allow argcheck errno; do
	sed -n 's/^seccomptrace: prog \(.*\): \([0-9]*\) runs, \([0-9]*\) ns per run$/\1 \2 \3/p' "$tmp/t.$mode" |
		awk -v m=$mode '$2 > 0 { printf "| %s | %s | %s | %s |\n", m, $1, $2, $3 }'
done

echo
"$ST" watch --output json -- "$LOOP" errno "$FLOOD" 2 >/dev/null 2>"$tmp/flood" || true
echo "Flood: 2 threads x $FLOOD ERRNO decisions under watch --output json > /dev/null:"
grep -E '^seccomptrace: [0-9]+ decisions|^loop ' "$tmp/flood" | sed 's/^/    /'
grep -E 'lost [0-9]+ records' "$tmp/flood" | sed 's/^/    /' || echo "    no records lost"

if ((LONG > 0)); then
	echo
	"$LOOP" errno 1000000000 1 2>/dev/null &
	flood=$!
	"$ST" watch --output json --pid $flood >/dev/null 2>"$tmp/long" &
	w=$!
	waitfor /proc/$w/status VmRSS
	rss0=$(awk '/^VmRSS/ { print $2 }' /proc/$w/status)
	for ((s = 0; s < LONG; s += 10)); do
		sleep 10 # sampling interval of a measurement, not a synchronisation
		echo "    after $((s + 10)) s: RSS $(awk '/^VmRSS/ { print $2 }' /proc/$w/status) KiB"
	done
	rss1=$(awk '/^VmRSS/ { print $2 }' /proc/$w/status)
	kill -INT $w; wait $w || true
	kill $flood; wait $flood 2>/dev/null || true
	echo "Long run: watch under a sustained ERRNO flood for $LONG s: RSS $rss0 KiB at the start, $rss1 KiB at the end"
	grep -E '^seccomptrace: [0-9]+ decisions' "$tmp/long" | sed 's/^/    /'
fi
