#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The demo: doctor; `seccomptrace watch` following the built-in workload
# (three stacked filters: ERRNO with FLAG_LOG, LOG, TRAP without FLAG_LOG),
# each decision beside what the kernel logged and the verdict; then the
# main job, `seccomptrace conformance`: the built-in matrix of logging cases,
# each followed to its audit record.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build/seccomptrace doctor
echo
echo "$ seccomptrace watch -- seccomptrace workload --count 3"
build/seccomptrace watch -- build/seccomptrace workload --count 3
echo
echo "$ seccomptrace conformance"
build/seccomptrace conformance
