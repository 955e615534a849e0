#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The VM test suite, run inside the guest by `make vmtest` / `make test`:
# doctor, then the host-compiled test binaries, then the conformance matrix.
# SECCOMPTRACE_VMTEST=1 (set by run.sh --in-vm) turns every "cannot trace
# here" skip into a failure.
#
#   vmtest/suite.sh [conformance]    conformance: doctor and the matrix only
#
# With SECCOMPTRACE_REPORT_DIR set (vmtest/vmsuite.sh sets it) the matrix's
# one run is also saved there as conformance.ktap, conformance.json and
# conformance.junit.xml, for the host to check with the kernel's kunit.py
# (vmtest/check-reports.py) and for CI to upload.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# `make vmtest ARCH=arm64` builds into build/arm64 and says so here.
B=${VMTEST_BUILD:-build}

status=0
step() {
	echo "--- $*"
	if ! "$@"; then
		echo "--- FAILED: $*"
		status=1
	fi
}

step "$B/seccomptrace" doctor
if [[ ${1:-} != conformance ]]; then
	step "$B/observer.test" -test.v -test.count=1
	step "$B/audit.test" -test.v -test.count=1
	step "$B/conformance.test" -test.v -test.count=1
	step "$B/cmd.test" -test.v -test.count=1
fi
# The conformance matrix, in KTAP as KernelCI/LKFT read it.
save=()
if [[ -n ${SECCOMPTRACE_REPORT_DIR:-} ]]; then
	r=$SECCOMPTRACE_REPORT_DIR
	save=(--save "ktap=$r/conformance.ktap" --save "json=$r/conformance.json" --save "junit=$r/conformance.junit.xml")
fi
step "$B/seccomptrace" conformance --output ktap "${save[@]}"
exit $status
