#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What `make vmtest` and `make test` run on the host for one kernel: boot it,
# run vmtest/suite.sh in the guest, then check the conformance reports the
# suite saved with the kernel's own KTAP parser (vmtest/check-reports.py).
#
#   vmtest/vmsuite.sh KERNEL REPORT_DIR [conformance]
#
# KERNEL is a kernels.txt name or a bzImage/tree (as for run.sh). REPORT_DIR
# receives conformance.ktap, .json and .junit.xml; it is shared read-write
# with the guest (run.sh shares the current folder already; anything else
# gets --rwdir). "conformance" runs only doctor and the matrix.
# VMTIMEOUT (900) limits one boot. A guest that hangs at boot or dies (124,
# 255) under TCG is retried once; a test failure is not.
#
# Exit status: the suite's when it failed, else the report check's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 2 && $# -le 3 ]] || { echo "usage: vmtest/vmsuite.sh KERNEL REPORT_DIR [conformance]" >&2; exit 2; }
kernel=$1 dir=$2 only=${3:-}
[[ -z $only || $only == conformance ]] || { echo "vmsuite: unknown suite '$only'; want conformance or nothing" >&2; exit 2; }

mkdir -p -- "$dir"
dir=$(realpath -- "$dir")
# A report left by an earlier run must not pass for this one's.
rm -f -- "$dir"/conformance.{ktap,json,junit.xml}
rw=()
[[ $dir == "$PWD" || $dir == "$PWD"/* ]] || rw=(--rwdir "$dir")

suite() {
	SECCOMPTRACE_REPORT_DIR=$dir "$HERE/run.sh" --kernel "$kernel" --timeout "${VMTIMEOUT:-900}" "${rw[@]}" -- \
		"$HERE/suite.sh" ${only:+"$only"}
}

rc=0
suite || rc=$?
if [[ $rc == 124 || $rc == 255 ]]; then
	echo "=== guest died ($rc): retrying $kernel once"
	rc=0
	suite || rc=$?
fi
# A guest that never finished has nothing to check.
[[ $rc == 124 || $rc == 255 ]] && exit "$rc"

echo "=== conformance reports of $kernel in $dir, checked with the kernel's kunit.py"
check=0
python3 "$HERE/check-reports.py" "$dir" || check=$?
[[ $rc -ne 0 ]] && exit "$rc"
exit "$check"
