#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Judge one regression-lane run: did this kernel variant behave as it must?

lane.sh runs `seccomptrace check --output json` (the verdict) and
`seccomptrace watch --output json` (every decision, with its seccomp_log
calls and reasons) on the same workload, then calls

    judge.py VARIANT MODEL COUNT CHECK_OUT CHECK_RC WATCH_OUT WATCH_RC

It prints a short summary and exits 0 when the run is as expected, 1 if not.
Expectations (vmtest/regression/README.md):
  stock, noinline (default model): check passes, 0 violations, 0 inconclusive;
  noinline also: one seccomp_log call per non-ALLOW decision, 0 disagreements
      with the reconstruction;
  reverted (default model): check fails with exactly the FLAG_LOG-off
      errno/trap/trace/user_notif decisions, COUNT each, as unexpected-log;
  reverted --model 4.14-4.17: check passes.
"""
import collections
import json
import sys

DISAGREE = "RECONSTRUCTION DISAGREES WITH seccomp_log"
# Actions whose FLAG_LOG-off decisions a reverted kernel logs for an audited task.
REQUESTED_ACTIONS = ("errno", "trap", "trace", "user_notif")


def base(action):
    """errno(2) -> errno; unknown(0x10000) stays as is."""
    if not action or action.startswith("unknown"):
        return action or "?"
    return action.split("(")[0]


def read_check(path):
    """check's stdout also holds the workload's own lines; the summary is the
    JSON object that starts at the first line reading '{'."""
    text = open(path, encoding="utf-8", errors="replace").read()
    if text.startswith("{"):
        start = 0
    else:
        start = text.find("\n{\n") + 1
        if start == 0:
            return None
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return None


def read_watch(path):
    pairs = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            try:
                pairs.append(json.loads(line))
            except ValueError:
                pass
    return pairs


def main(argv):
    variant, model, count, check_out, check_rc, watch_out, watch_rc = argv[1:8]
    n, check_rc, watch_rc = int(count), int(check_rc), int(watch_rc)
    label = f"{variant} model={model}"
    problems = []

    s = read_check(check_out)
    if s is None:
        print(f"  {label}: check printed no JSON summary (exit {check_rc}); see its output above")
        return 1
    pairs = read_watch(watch_out)
    if watch_rc != 0:
        problems.append(f"watch exited {watch_rc}")

    viol = s.get("violations") or []
    inconc = s.get("inconclusive") or []
    lost = s.get("records_lost", 0)
    per_action = s.get("per_action") or {}
    has_notif = "user_notif" in per_action
    disagree_check = sum(DISAGREE in (p.get("reason") or "") for p in inconc)
    disagree_watch = sum(DISAGREE in (p.get("reason") or "") for p in pairs)
    decisions = [p for p in pairs if not p.get("no_decision")]
    sl_calls = sum(len(p.get("seccomp_log") or []) for p in pairs)

    print(f"  {label}: result={s.get('result')} exit={check_rc} decisions={s.get('decisions')} "
          f"violations={len(viol)} inconclusive={len(inconc)} lost={lost} (model {s.get('model')}; "
          f"command exit: {s.get('command_exit')})")
    print("    " + "  ".join(f"{a}:{v['decisions']}/{v['logged']}logged" for a, v in sorted(per_action.items())))
    for v in viol:
        print(f"    VIOLATION {v.get('verdict')} {v.get('syscall')} action={v.get('action')} "
              f"flag_log={v.get('flag_log')} reason={v.get('reason')}")
    for v in inconc:
        print(f"    INCONCLUSIVE {v.get('syscall')} action={v.get('action')}: {v.get('reason')}")
    print(f"    watch: {len(decisions)} decisions, {sl_calls} seccomp_log calls seen, "
          f"seccomp_log cross-check disagreements: check {disagree_check}, watch {disagree_watch}")

    if lost:
        problems.append(f"{lost} records lost")
    if inconc:
        problems.append(f"{len(inconc)} inconclusive")
    if disagree_check or disagree_watch:
        problems.append("the reconstruction disagrees with seccomp_log")

    if variant == "reverted" and model == "auto":
        # Exactly the FLAG_LOG-off decisions of the requested-only actions, n each.
        want = {a: n for a in REQUESTED_ACTIONS if a != "user_notif" or has_notif}
        got = collections.Counter()
        for v in viol:
            a = base(v.get("action"))
            if v.get("verdict") != "unexpected-log" or v.get("flag_log") is not False or a not in want:
                problems.append(f"unexpected violation: {v.get('verdict')} {a} flag_log={v.get('flag_log')}")
            got[a] += 1
        if dict(got) != want:
            problems.append(f"violations per action {dict(got)}, want {want}")
        if check_rc != 1 or s.get("result") != "violations":
            problems.append(f"check: exit {check_rc} result {s.get('result')}, want 1 violations")
    else:
        if viol:
            problems.append(f"{len(viol)} violations")
        if check_rc != 0 or s.get("result") != "pass":
            problems.append(f"check: exit {check_rc} result {s.get('result')}, want 0 pass")

    if variant == "noinline":
        # The hook must have fired once for every decision that reaches
        # seccomp_log (all non-ALLOW ones in this workload) and never else.
        bad = [p for p in decisions
               if len(p.get("seccomp_log") or []) != (0 if base(p.get("action")) == "allow" else 1)]
        if not sl_calls or bad:
            problems.append(f"seccomp_log calls: {sl_calls} in all, {len(bad)} decisions with the wrong number")

    if has_notif and variant == "reverted" and model != "auto":
        # 4.14-4.17 had no USER_NOTIF: that model files 0x7fc00000 under the
        # unknown-action (kill_process bit) rule. Show how those were judged.
        notif = collections.Counter((p.get("flag_log"), p.get("verdict"), p.get("reason"))
                                    for p in decisions if base(p.get("action")) == "user_notif")
        for (flag, verdict, reason), k in sorted(notif.items(), key=str):
            print(f"    user_notif flag_log={flag}: {k}x {verdict} ({reason})")

    if problems:
        print(f"  {label}: NOT AS EXPECTED: " + "; ".join(problems))
        return 1
    print(f"  {label}: as expected")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 8:
        sys.exit("usage: judge.py VARIANT MODEL COUNT CHECK_OUT CHECK_RC WATCH_OUT WATCH_RC")
    sys.exit(main(sys.argv))
