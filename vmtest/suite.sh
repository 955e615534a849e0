#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The VM test suite, run inside the guest by `make vmtest` / `make test`:
# doctor, then the host-compiled test binaries. SECCOMPTRACE_VMTEST=1 (set by
# run.sh --in-vm) turns every "cannot trace here" skip into a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
step() {
	echo "--- $*"
	if ! "$@"; then
		echo "--- FAILED: $*"
		status=1
	fi
}

step build/seccomptrace doctor
step build/observer.test -test.v -test.count=1
step build/audit.test -test.v -test.count=1
step build/conformance.test -test.v -test.count=1
step build/cmd.test -test.v -test.count=1
# The conformance matrix, in KTAP as KernelCI/LKFT read it.
step build/seccomptrace conformance --output ktap
exit $status
