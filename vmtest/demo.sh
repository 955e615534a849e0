#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The demo: doctor, then `seccomptrace watch` following the built-in
# workload (three stacked filters: ERRNO with FLAG_LOG, LOG, TRAP without
# FLAG_LOG), printing each decision beside what the kernel logged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build/seccomptrace doctor
echo
echo "$ seccomptrace watch -- seccomptrace workload --count 3"
build/seccomptrace watch -- build/seccomptrace workload --count 3
