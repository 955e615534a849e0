#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the GitHub Action and the example workflow without GitHub.

    contrib/ci/check-yaml.py FILE...      (make check-ci)

Each FILE (or each ```yaml block of a FILE.md, so README's copy-paste
workflow is held to the same) must parse as YAML (python3-yaml) and have what GitHub needs: an
action (a file with `runs`) is a composite action whose run steps name
their shell and whose inputs and outputs are described; a workflow (a file
with `jobs`) has triggers, and each job runs-on and steps. In both, each
step runs or uses exactly one thing, every uses names a ref (@...) or a
local path, every ${{ inputs.X }} and ${{ steps.ID... }} exists, and every
`make -C <seccomptrace> TARGET` names a target of this repository's Makefile.
Exit 0 if all is well, 1 with one line per problem.
"""

import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-yaml: python3-yaml is missing: apt-get install python3-yaml (vmtest/setup.sh installs it)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# make run on seccomptrace's own tree: from the action, or from the workflow's checkout.
OUR_MAKE = re.compile(r'\bmake\s+-C\s+(?:"\$GITHUB_ACTION_PATH"|\$GITHUB_ACTION_PATH|\.seccomptrace)\s+([^\n]*)')


def make_targets():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", f.read(), re.M))


def walk_strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from walk_strings(k)
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)


def check_steps(where, steps, problems, shell_required, scope):
    """scope: the part of the file where ${{ steps.ID }} must name one of these steps."""
    if not isinstance(steps, list) or not steps:
        problems.append("%s: no steps" % where)
        return set()
    ids = set()
    for i, st in enumerate(steps):
        w = "%s: step %d (%s)" % (where, i + 1, st.get("name", "unnamed") if isinstance(st, dict) else "?")
        if not isinstance(st, dict):
            problems.append("%s: not a mapping" % w)
            continue
        if ("uses" in st) == ("run" in st):
            problems.append("%s: wants exactly one of uses and run" % w)
        if "uses" in st and not (str(st["uses"]).startswith("./") or "@" in str(st["uses"])):
            problems.append("%s: uses %r names no ref (@v4) and no local path" % (w, st["uses"]))
        if "run" in st and shell_required and "shell" not in st:
            problems.append("%s: a composite action's run step needs shell" % w)
        if "id" in st:
            ids.add(st["id"])
    for text in walk_strings(scope):
        for expr in EXPR.findall(text):
            for sid in re.findall(r"\bsteps\.([\w-]+)\.", expr):
                if sid not in ids:
                    problems.append("%s: ${{ steps.%s... }} but no step has id %s" % (where, sid, sid))
    return ids


def check_inputs_used(where, doc, inputs, problems):
    for text in walk_strings(doc):
        for expr in EXPR.findall(text):
            for name in re.findall(r"\binputs\.([\w-]+)", expr):
                if name not in inputs:
                    problems.append("%s: ${{ inputs.%s }} is not a declared input" % (where, name))


def check_make(where, doc, targets, problems):
    runs = [s for s in walk_strings(doc) if "make" in s]
    # A target given as a variable ("$TARGET") must be one the file assigns.
    assigned = set()
    for text in walk_strings(doc):
        assigned.update(re.findall(r"\btarget=([\w-]+)", text))
    found = 0
    for text in runs:
        for args in OUR_MAKE.findall(text):
            words = [w.strip("\"'") for w in args.split()]
            goals = [w for w in words if w and not w.startswith("-") and "=" not in w and w != "\\"]
            if not goals:
                problems.append("%s: 'make -C ... %s' names no target" % (where, args.strip()))
                continue
            goal = goals[0]
            found += 1
            names = sorted(assigned) if goal in ("$TARGET", "${TARGET}") else [goal]
            if not names:
                problems.append("%s: make %s, but the file assigns no target=" % (where, goal))
            for n in names:
                if n not in targets:
                    problems.append("%s: make %s: no such target in the Makefile" % (where, n))
    return found


def main(paths):
    if not paths:
        sys.exit("usage: contrib/ci/check-yaml.py FILE...")
    problems = []
    targets = make_targets()
    docs = []
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            problems.append("%s: %s" % (path, e))
            continue
        if not path.endswith(".md"):
            docs.append((path, text))
            continue
        blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
        if not blocks:
            problems.append("%s: no ```yaml block" % path)
        for i, b in enumerate(blocks):
            docs.append(("%s (yaml block %d)" % (path, i + 1), b))
    for path, text in docs:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            problems.append("%s: %s" % (path, str(e).replace("\n", " ")))
            continue
        if not isinstance(doc, dict):
            problems.append("%s: not a YAML mapping" % path)
            continue
        if "runs" in doc:
            for key in ("name", "description", "inputs", "runs"):
                if key not in doc:
                    problems.append("%s: no %s" % (path, key))
            runs = doc.get("runs") or {}
            if runs.get("using") != "composite":
                problems.append("%s: runs.using is %r, want composite" % (path, runs.get("using")))
            check_steps(path, runs.get("steps"), problems, shell_required=True, scope=doc)
            inputs = doc.get("inputs") or {}
            for name, spec in inputs.items():
                if not isinstance(spec, dict) or not spec.get("description"):
                    problems.append("%s: input %s has no description" % (path, name))
            for name, spec in (doc.get("outputs") or {}).items():
                if not isinstance(spec, dict) or "value" not in spec or not spec.get("description"):
                    problems.append("%s: output %s needs a description and a value" % (path, name))
            check_inputs_used(path, doc, inputs, problems)
        elif "jobs" in doc:
            # YAML 1.1 reads a bare `on` key as True.
            on = doc.get("on", doc.get(True))
            if not on:
                problems.append("%s: no triggers (on:)" % path)
            inputs = {}
            for trigger in ("workflow_call", "workflow_dispatch"):
                spec = on.get(trigger) if isinstance(on, dict) else None
                inputs.update((spec or {}).get("inputs") or {})
            for jname, job in (doc.get("jobs") or {}).items():
                w = "%s: job %s" % (path, jname)
                if not isinstance(job, dict):
                    problems.append("%s: not a mapping" % w)
                    continue
                if "uses" in job:
                    continue
                if "runs-on" not in job:
                    problems.append("%s: no runs-on" % w)
                check_steps(w, job.get("steps"), problems, shell_required=False, scope=job)
            check_inputs_used(path, doc, inputs, problems)
        else:
            problems.append("%s: neither an action (runs:) nor a workflow (jobs:)" % path)
            continue
        if check_make(path, doc, targets, problems) == 0:
            problems.append("%s: calls no make target of seccomptrace (make -C <seccomptrace> TARGET)" % path)
    for p in problems:
        print("check-yaml: " + p, file=sys.stderr)
    if problems:
        return 1
    print("check-yaml: %s: ok" % ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
