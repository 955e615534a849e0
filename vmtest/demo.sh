#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The demo: doctor; `seccomptrace watch` following the built-in workload
# (three stacked filters: ERRNO with FLAG_LOG, LOG, TRAP without FLAG_LOG),
# each decision beside what the kernel logged and the verdict; then
# `seccomptrace check` on every action with FLAG_LOG on and off, each
# emission followed to its audit record.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build/seccomptrace doctor
echo
echo "$ seccomptrace watch -- seccomptrace workload --count 3"
build/seccomptrace watch -- build/seccomptrace workload --count 3
echo
echo "$ seccomptrace check -- seccomptrace workload --scenario actions --count 2"
build/seccomptrace check -- build/seccomptrace workload --scenario actions --count 2
