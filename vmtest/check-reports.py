#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check one conformance run's reports against the kernel's own KTAP parser.

    vmtest/check-reports.py [--kunit PATH/kunit.py] DIR

DIR holds what `seccomptrace conformance --output ktap --save json=...
--save junit=...` wrote in one run (vmtest/suite.sh does it):
conformance.ktap, conformance.json and conformance.junit.xml. The script runs
`kunit.py parse` (tools/testing/kunit of Debian's linux-source-6.1, unpacked
by `vmtest/setup.sh kunit`) on the KTAP and fails unless

  - kunit.py found no parse errors and no crashed tests,
  - its passed/failed/skipped counts are seccomptrace's own (JSON: pass;
    fail + inconclusive, both `not ok`; skip), and so is its exit status,
  - it read the same cases, in order, with the same statuses,
  - the KTAP's '# Totals:' line and the JUnit's counts and testcases agree
    with the JSON.

Exit 0 when everything agrees, 1 otherwise (each disagreement on a line
starting 'check-reports: '), 2 on usage errors.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

KUNIT_STATUS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "FAIL", "skip": "SKIP"}
JUNIT_CLASSNAME = "seccomptrace.conformance"


def default_kunit():
    cache = os.environ.get("SECCOMPTRACE_CACHE") or "/var/cache/seccomptrace"
    return os.path.join(cache, "kunit", "tools", "testing", "kunit", "kunit.py")


def summary_counts(line):
    """Counts of kunit.py's 'Testing complete. Ran N tests: passed: P, ...' (zeros are left out)."""
    m = re.search(r"Testing complete\. Ran (\d+) tests(?::(.*))?$", line)
    if not m:
        return None
    counts = {"total": int(m.group(1))}
    for k in ("passed", "failed", "crashed", "skipped", "errors"):
        counts[k] = 0
    for part in (m.group(2) or "").split(","):
        if ":" in part:
            k, v = part.split(":", 1)
            counts[k.strip()] = int(v)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kunit", default=default_kunit(), help="kunit.py to run (default: %(default)s)")
    ap.add_argument("dir", help="folder with conformance.ktap, conformance.json and conformance.junit.xml")
    args = ap.parse_args()

    problems = []

    def bad(msg):
        problems.append(msg)
        print("check-reports: " + msg, file=sys.stderr)

    d = os.path.abspath(args.dir)
    paths = {k: os.path.join(d, "conformance." + k) for k in ("ktap", "json", "junit.xml")}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        for p in missing:
            bad("missing %s: the VM suite did not get to write it (see its log above)" % p)
        return 1
    if not os.path.isfile(args.kunit):
        bad("no kunit.py at %s: run vmtest/setup.sh kunit" % args.kunit)
        return 1

    with open(paths["json"]) as f:
        try:
            js = json.load(f)
        except ValueError as e:
            bad("%s: not JSON: %s" % (paths["json"], e))
            return 1
    cases = js.get("cases") or []
    want = {s: sum(1 for c in cases if c["status"] == s) for s in ("pass", "fail", "skip", "inconclusive")}
    for s, key in (("pass", "pass"), ("fail", "fail"), ("skip", "skip"), ("inconclusive", "inconclusive")):
        if js.get(key) != want[s]:
            bad("JSON summary says %s=%s but %d cases have that status" % (key, js.get(key), want[s]))

    # The kernel's parser. kunit.py chdirs to its kernel tree: paths must be absolute.
    with tempfile.TemporaryDirectory() as tmp:
        kjson = os.path.join(tmp, "kunit.json")
        proc = subprocess.run([sys.executable, os.path.abspath(args.kunit), "parse", "--json=" + kjson, paths["ktap"]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = proc.stdout
        # Its summary lines (the per-case [PASSED] lines are in the KTAP already).
        print("kunit.py parse %s (exit status %d):" % (paths["ktap"], proc.returncode))
        for line in out.splitlines():
            if "[PASSED]" not in line:
                print("  " + line)
        try:
            with open(kjson) as f:
                kres = json.load(f)
        except (OSError, ValueError) as e:
            kres = None
            bad("kunit.py wrote no JSON results: %s" % e)

    summary = None
    for line in out.splitlines():
        summary = summary_counts(line) or summary
    if summary is None:
        bad("kunit.py printed no 'Testing complete.' line")
        return 1
    got = (summary["total"], summary["passed"], summary["failed"], summary["skipped"])
    exp = (len(cases), want["pass"], want["fail"] + want["inconclusive"], want["skip"])
    if got != exp:
        bad("kunit.py counts ran/passed/failed/skipped %s, seccomptrace's JSON %s (failed = fail + inconclusive)" % (got, exp))
    if summary["crashed"] or summary["errors"]:
        bad("kunit.py found %d crashed tests and %d parse errors in the KTAP" % (summary["crashed"], summary["errors"]))
    want_rc = 1 if want["fail"] + want["inconclusive"] else 0
    if proc.returncode != want_rc:
        bad("kunit.py exited %d, want %d" % (proc.returncode, want_rc))

    if kres is not None:
        if kres.get("sub_groups"):
            bad("kunit.py read nested suites; the KTAP has one flat plan")
        kcases = [(c["name"], c["status"]) for c in kres.get("test_cases", [])]
        jcases = [(c["case"].replace("#", ""), KUNIT_STATUS.get(c["status"], "?")) for c in cases]
        if kcases != jcases:
            diff = [(i + 1, k, j) for i, (k, j) in enumerate(zip(kcases, jcases)) if k != j]
            bad("kunit.py read %d cases, the JSON has %d; first differences (number, kunit.py, JSON): %s"
                % (len(kcases), len(jcases), diff[:3]))

    with open(paths["ktap"]) as f:
        ktap = f.read()
    m = re.search(r"^# Totals: pass:(\d+) fail:(\d+) xfail:0 xpass:0 skip:(\d+) error:(\d+)$", ktap, re.M)
    if not m:
        bad("the KTAP has no '# Totals:' line")
    elif tuple(map(int, m.groups())) != (want["pass"], want["fail"], want["skip"], want["inconclusive"]):
        bad("KTAP '# Totals:' %s, JSON pass/fail/skip/inconclusive %s" % (m.group(0), tuple(want.values())))

    try:
        root = ET.parse(paths["junit.xml"]).getroot()
    except ET.ParseError as e:
        bad("%s: not XML: %s" % (paths["junit.xml"], e))
        root = None
    if root is not None:
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        if len(suites) != 1:
            bad("JUnit has %d testsuites, want 1" % len(suites))
        for s in suites:
            attrs = tuple(int(s.get(a, -1)) for a in ("tests", "failures", "skipped", "errors"))
            exp = (len(cases), want["fail"], want["skip"], want["inconclusive"])
            if attrs != exp:
                bad("JUnit testsuite tests/failures/skipped/errors %s, JSON %s" % (attrs, exp))
            outcome = {"failure": "fail", "skipped": "skip", "error": "inconclusive"}
            jcases = []
            for tc in s.findall("testcase"):
                kids = [outcome[k.tag] for k in tc if k.tag in outcome]
                jcases.append((tc.get("classname"), tc.get("name"), kids[0] if len(kids) == 1 else ("pass" if not kids else "several")))
            if jcases != [(JUNIT_CLASSNAME, c["case"], c["status"]) for c in cases]:
                bad("JUnit testcases do not match the JSON's cases and statuses")

    if problems:
        print("check-reports: %s: %d disagreement(s)" % (d, len(problems)), file=sys.stderr)
        return 1
    print("check-reports: %s: kunit.py, KTAP totals, JSON and JUnit agree: %d cases, %d pass, %d fail, %d skip, %d inconclusive"
          % (d, len(cases), want["pass"], want["fail"], want["skip"], want["inconclusive"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
