#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guest side of the kernel regression lane: judge the booted kernel as
# VARIANT and exit 0 when it behaves as that variant must (README.md).
# Runs as root in the VM, from the repository root:
#
#   vmtest/run.sh --kernel "$(vmtest/regression/build.sh image reverted)" -- vmtest/regression/lane.sh reverted
#
# VARIANT: stock (also: your own kernel), reverted, noinline.
# Makes every task "audited" (audit on, one syscall rule) for the runs, and
# restores the audit state on every exit path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${SECCOMPTRACE_BIN:-build/seccomptrace}
COUNT=${LANE_COUNT:-2}
WORKLOAD=("$BIN" workload --scenario actions --count "$COUNT")
# shellcheck disable=SC2054 # "always,exit" is one auditctl word
RULE=(always,exit -F arch=b64 -S getpid)

log() { printf 'lane: %s\n' "$*" >&2; }
die() { printf 'lane: error: %s\n' "$*" >&2; exit 2; }

variant=${1:-}
case $variant in
stock | reverted | noinline) ;;
*) die "usage: lane.sh stock|reverted|noinline" ;;
esac
[[ -x $BIN ]] || die "$BIN missing; run 'make build' on the host first"
command -v auditctl >/dev/null || die "auditctl missing; on the host: apt-get install auditd (vmtest/setup.sh does)"
[[ $(id -u) -eq 0 ]] || die "needs root (it runs in the VM: vmtest/run.sh ... -- $0 $variant)"

# build.sh sets LOCALVERSION=-VARIANT: catch a lane pointed at the wrong image.
release=$(uname -r)
for v in stock reverted noinline; do
	if [[ $release == *-"$v" && $v != "$variant" ]]; then
		die "booted kernel $release is the $v build, not $variant; check the --kernel path"
	fi
done

tmp=$(mktemp -d)
rule_added=0
was_enabled=$(auditctl -s | awk '$1 == "enabled" {print $2}') || die "auditctl -s failed: kernel without CONFIG_AUDIT?"
# shellcheck disable=SC2317 # called by the EXIT trap
restore() {
	if [[ $rule_added -eq 1 ]]; then auditctl -d "${RULE[@]}" >/dev/null 2>&1 || log "could not delete the audit rule ${RULE[*]}"; fi
	if [[ -n $was_enabled ]]; then auditctl -e "$was_enabled" >/dev/null 2>&1 || log "could not restore audit enabled=$was_enabled"; fi
	rm -rf "$tmp"
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "=== lane $variant on $release: doctor"
rc=0
"$BIN" doctor | tee "$tmp/doctor" || rc=$?
[[ $rc -eq 0 ]] || die "doctor says this kernel cannot be traced (exit $rc)"
strategy=$(awk '$1 == "hook" && $2 == "seccomp_log" {print $4}' "$tmp/doctor")
failed=0
if [[ $variant == noinline ]]; then
	if [[ $strategy == fentry ]]; then
		echo "  seccomp_log hook: attached with fentry, as expected"
	else
		echo "  seccomp_log hook: '$strategy', want fentry: NOT AS EXPECTED"
		failed=1
	fi
else
	echo "  seccomp_log hook: ${strategy:-?} (inlined in this build; decisions are reconstructed)"
fi

# The conformance matrix first: it saves, changes and restores audit state
# (and its own rule) by itself. Under 4.14-4.17 there was no USER_NOTIF, so
# that model's run leaves those cases out.
for m in auto 4.14-4.17; do
	[[ $m == auto || $variant == reverted ]] || continue
	cargs=(--output json)
	[[ $m == auto ]] || cargs+=(--model "$m" --filter '^(kill|trap|errno|trace|log|allow|stacked|compat|strict)')
	echo "=== conformance ${cargs[*]}"
	ccrc=0
	"$BIN" conformance "${cargs[@]}" --state-file "$tmp/conformance-state.json" >"$tmp/conf.$m" 2>"$tmp/conf.$m.err" || ccrc=$?
	[[ $ccrc -le 2 ]] || { cat "$tmp/conf.$m.err" >&2; log "conformance failed as a tool (exit $ccrc)"; failed=1; continue; }
	/usr/bin/python3 "$HERE/judge_conformance.py" "$variant" "$m" "$tmp/conf.$m" "$ccrc" || failed=1
done

# "Audited" (docs/kernel-semantics.md §7): audit enabled and a non-dummy context,
# which any syscall rule gives every task from its next syscall entry.
[[ $was_enabled != 2 ]] || die "audit is locked (enabled=2); boot without audit=2 / -e 2"
auditctl -e 1 >/dev/null
rule_added=1
auditctl -a "${RULE[@]}" >/dev/null || { rule_added=0; die "auditctl -a ${RULE[*]} failed"; }
echo "=== audit: enabled, rule -a ${RULE[*]} (every task is audited)"

models=(auto)
[[ $variant == reverted ]] && models+=(4.14-4.17)
for m in "${models[@]}"; do
	margs=()
	[[ $m == auto ]] || margs=(--model "$m")
	echo "=== check${margs[*]:+ ${margs[*]}} -- ${WORKLOAD[*]}"
	crc=0
	"$BIN" check --output json "${margs[@]}" -- "${WORKLOAD[@]}" >"$tmp/check.$m" 2>"$tmp/check.$m.err" || crc=$?
	# The same run streamed, for what the summary leaves out: every decision's
	# reason and its seccomp_log calls.
	wrc=0
	"$BIN" watch --output json "${margs[@]}" -- "${WORKLOAD[@]}" >"$tmp/watch.$m" 2>"$tmp/watch.$m.err" || wrc=$?
	[[ $crc -le 2 ]] || { cat "$tmp/check.$m.err" >&2; log "check failed as a tool (exit $crc)"; }
	[[ $wrc -eq 0 ]] || { tail -n 5 "$tmp/watch.$m.err" >&2; }
	/usr/bin/python3 "$HERE/judge.py" "$variant" "$m" "$COUNT" "$tmp/check.$m" "$crc" "$tmp/watch.$m" "$wrc" || failed=1
done

if [[ $failed -eq 0 ]]; then
	echo "=== lane $variant: PASS (behaved as the $variant kernel must)"
else
	echo "=== lane $variant: FAIL (see NOT AS EXPECTED above)"
fi
exit "$failed"
