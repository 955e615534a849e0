#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Judge a `seccomptrace conformance --output json` run for one lane variant:
#   stock, noinline: every case passes (no failure, nothing inconclusive);
#   reverted:        the failures are exactly the audited tasks' (audit=on+rule)
#                    decisions that reach seccomp_log while the policy says
#                    silent; with --model 4.14-4.17 everything passes.
# Usage: judge_conformance.py VARIANT MODEL FILE EXIT
import json
import sys

variant, model, path, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(path) as f:
    run = json.load(f)
cases = run["cases"]
failed = [c for c in cases if c["status"] == "fail"]
inconclusive = [c for c in cases if c["status"] == "inconclusive"]
print(f"  conformance ({model}): {run['pass']} pass, {run['fail']} fail, {run['skip']} skip, "
      f"{run['inconclusive']} inconclusive, {run['records_lost']} lost, exit {rc}")
for c in failed + inconclusive:
    print(f"    {c['status']}: {c['case']}: {c['detail']}")

# Paths that never call seccomp_log (docs/kernel-semantics.md §3), so patch 4 cannot change them.
NEVER = ("allow", "/tracer-continue", "/notif-continue")


def audited_silent(c):
    name = c["case"]
    return ("audit=on+rule" in name and not c["expected_log"]
            and not name.startswith("allow") and not any(n in name.split(" ")[0] for n in NEVER[1:])
            # strict mode lets the call run: no seccomp_log either
            and "is allowed and never logged" not in name)


ok = True
if inconclusive:
    ok = False
elif variant == "reverted" and model == "auto":
    want = {c["case"] for c in cases if audited_silent(c)}
    got = {c["case"] for c in failed}
    if got != want:
        ok = False
        for n in sorted(want - got):
            print(f"    expected to fail but passed: {n}")
        for n in sorted(got - want):
            print(f"    failed but should not: {n}")
    else:
        print(f"  reverted: exactly the {len(want)} audited-task cases fail, all unexpected-log")
else:
    ok = not failed and rc == 0
print("  " + ("as expected" if ok else "NOT AS EXPECTED"))
sys.exit(0 if ok else 1)
