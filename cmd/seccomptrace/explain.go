// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// explainJSON is one line of explain's --output json.
type explainJSON struct {
	Time     string `json:"time"`
	Pid      uint32 `json:"pid"`
	Tid      uint32 `json:"tid"`
	Syscall  string `json:"syscall"`
	Nr       int64  `json:"nr"`
	Verdict  string `json:"verdict"`
	Sentence string `json:"sentence"`
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explain", "usage: seccomptrace explain [--pid N] [--cgroup PATH] [--container ID] [--syscall NAME|NR] [flags] -- CMD ARGS...\n"+
		"       seccomptrace explain [--pid N] [--cgroup PATH] [--container ID] [--syscall NAME|NR] --from FILE\n\n"+
		"Say, one sentence per decision, why it was or was not logged: the rule of the\n"+
		"logging policy or the point where the record was dropped. Runs CMD as check does,\n"+
		"or reads FILE: watch's JSON Lines (every decision) or check's JSON (its violations\n"+
		"and inconclusive decisions). Without --syscall, ALLOW decisions are left out.", stderr)
	f := streamFlags{cmdStdout: os.Stderr}
	f.register(fs, false)
	var pids pidList
	fs.Var(&pids, "pid", "explain only decisions of these process (or thread) ids")
	sys := fs.String("syscall", "", "explain only decisions on this syscall (name or number)")
	from := fs.String("from", "", "read decisions from this file (watch --output json, or check --output json) instead of running CMD")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("bad --output %q: want text or json", f.output)
	}
	command := fs.Args()
	var pairs []pairJSON
	switch {
	case *from != "" && len(command) > 0:
		return errors.New("explain takes --from FILE or a command, not both")
	case *from != "":
		b, err := os.ReadFile(*from)
		if err != nil {
			return fmt.Errorf("read decisions: %w", err)
		}
		if pairs, err = decodeDecisions(b); err != nil {
			return fmt.Errorf("read decisions from %s: %w", *from, err)
		}
	case len(command) > 0:
		run, err := checkRun(ctx, &f, command)
		if err != nil {
			return exitWith(exitToolError, err)
		}
		pairs = run.pairs
	default:
		return errors.New("explain needs a command or --from FILE: seccomptrace explain [flags] -- CMD ARGS")
	}
	enc := json.NewEncoder(stdout)
	n := 0
	sel := f.selector()
	for _, p := range pairs {
		// A run selected already; a file is selected here.
		if !explainMatches(p, pids, *sys) || !sel.matches(p.Cgroup, p.ContainerID) {
			continue
		}
		n++
		s := explainSentence(p)
		if f.output == "json" {
			if err := enc.Encode(explainJSON{Time: p.Time, Pid: p.Pid, Tid: p.Tid, Syscall: p.Syscall, Nr: p.Nr, Verdict: p.Verdict, Sentence: s}); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintln(stdout, s); err != nil {
			return err
		}
	}
	if n == 0 {
		fmt.Fprintln(stderr, "seccomptrace explain: no decision matched")
		return exitError{1}
	}
	return nil
}

// decodeDecisions reads check's JSON summary or watch's JSON Lines.
func decodeDecisions(b []byte) ([]pairJSON, error) {
	var sum checkSummary
	if err := json.Unmarshal(b, &sum); err == nil && sum.Result != "" {
		return append(append([]pairJSON(nil), sum.Violations...), sum.Inconclusive...), nil
	}
	var out []pairJSON
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		// Only decisions: writes and summaries are lines of other shapes.
		var kind struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if kind.Event != "decision" && kind.Event != "" {
			continue
		}
		var p pairJSON
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

func explainMatches(p pairJSON, pids pidList, sys string) bool {
	if len(pids) > 0 {
		ok := false
		for _, pid := range pids {
			ok = ok || uint32(pid) == p.Pid || uint32(pid) == p.Tid
		}
		if !ok {
			return false
		}
	}
	if sys == "" {
		return p.Action != "allow" || len(p.Emissions) > 0
	}
	if nr, err := strconv.ParseInt(sys, 10, 64); err == nil {
		return p.Nr == nr
	}
	return p.Syscall == sys
}

// explainSentence says in one sentence why p was or was not logged: the
// rule of the logging policy (docs/kernel-semantics.md §2, §3) or the point where
// the record was dropped (§6). Every string in it may come from a file, so
// the sentence is escaped as a whole.
func explainSentence(p pairJSON) string {
	return escapeText(sentence(p))
}

// escapeText is escape for prose: control characters, non-ASCII and
// invalid bytes come out as Go escapes, quotes stay as they are.
func escapeText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r == '"' || (r >= 0x20 && r < 0x7f):
			b.WriteRune(r)
		default:
			b.WriteString(escape(string(r)))
		}
		s = s[size:]
	}
	return b.String()
}

func sentence(p pairJSON) string {
	who := fmt.Sprintf("%s (pid %d)", p.Syscall, p.Pid)
	if p.Tid != 0 && p.Tid != p.Pid {
		who = fmt.Sprintf("%s (pid %d, tid %d)", p.Syscall, p.Pid, p.Tid)
	}
	if p.NoDecision {
		return who + ": no seccomp decision was seen for it: " + p.Reason
	}
	if len(p.Emissions) > 0 {
		return who + logged(p)
	}
	switch {
	case p.Verdict == string(judge.MissingLog):
		return fmt.Sprintf("%s was not logged although the kernel's rules say it must be (%s): the kernel never called audit_seccomp, a kernel deviation (missing-log)",
			who, ruleText(p))
	case p.Verdict == string(judge.Inconclusive):
		return who + ": cannot say: " + p.Reason
	}
	return who + " was not logged: " + silentRule(p)
}

// logged explains a decision the kernel decided to log (audit_seccomp was called).
func logged(p pairJSON) string {
	e := p.Emissions[0]
	prefix := " was logged: "
	if p.Verdict == string(judge.UnexpectedLog) {
		prefix = fmt.Sprintf(" was logged although the kernel's rules say it must not be (%s: %s), a kernel deviation; ", p.Reason, ruleText(p))
	}
	switch d := e.Delivery; {
	case d == string(judge.Delivered):
		return fmt.Sprintf("%sdelivered as audit serial %d (ausearch -a %d)", prefix, e.Serial, e.Serial)
	case strings.HasPrefix(d, "lost("):
		reason := strings.TrimSuffix(strings.TrimPrefix(d, "lost("), ")")
		switch {
		case strings.HasPrefix(reason, "excluded"), strings.HasPrefix(reason, "audit disabled at boot"):
			return ": the kernel tried to log it but audit_log_start refused it: " + reason
		}
		return ": the kernel tried to log it but audit_log_lost dropped the record: " + reason
	case d == string(judge.Undelivered):
		return ": the kernel tried to log it (audit_seccomp was called) but no record reached the audit multicast group before the barrier, and no drop point was seen"
	}
	if p.Verdict == string(judge.UnexpectedLog) {
		return strings.TrimSuffix(prefix, "; ")
	}
	return " was logged: the kernel called audit_seccomp (" + ruleText(p) + "); whether the record was delivered is unknown (audit records not followed)"
}

// strictText says a strict-mode kill is judged as KILL_THREAD (§3).
const strictText = "strict mode (mode 1) killed it, which the kernel logs as KILL_THREAD whatever the filters say, and "

// ruleText names the rule behind an expected record.
func ruleText(p pairJSON) string {
	if p.Path == policy.PathStrict.String() {
		return strictText + ruleTextOf(p)
	}
	return ruleTextOf(p)
}

func ruleTextOf(p pairJSON) string {
	act := upperAction(p.Action)
	switch policy.Reason(p.Reason) {
	case policy.ReasonRequestedAndLogged:
		return fmt.Sprintf("the deciding filter%s returned %s with SECCOMP_FILTER_FLAG_LOG and %s is in actions_logged", filterText(p), act, bitName(p))
	case policy.ReasonLogActionLogged:
		return "LOG is in actions_logged"
	case policy.ReasonKillLogged:
		return fmt.Sprintf("%s is in actions_logged", bitName(p))
	case policy.ReasonUnknownActionLogged:
		return fmt.Sprintf("an unknown action %s is logged under kill_process, which is in actions_logged", act)
	case policy.ReasonAuditedTaskPre418:
		return "the task is audited, and a 4.14-4.17 kernel logs every action that reaches seccomp_log for an audited task"
	}
	return p.Reason
}

// silentRule names why a decision was, correctly, not logged.
func silentRule(p pairJSON) string {
	if p.Path == policy.PathStrict.String() {
		return strictText + silentRuleOf(p)
	}
	return silentRuleOf(p)
}

func silentRuleOf(p pairJSON) string {
	act := upperAction(p.Action)
	switch policy.Reason(p.Reason) {
	case policy.ReasonFlagLogOff:
		return fmt.Sprintf("the deciding filter%s returned %s without SECCOMP_FILTER_FLAG_LOG (the kernel logs %s only when the filter asks)",
			filterText(p), act, strings.ToUpper(bitName(p)))
	case policy.ReasonNotInActionsLogged:
		return fmt.Sprintf("%s is not in kernel.seccomp.actions_logged (at the decision: %s)", bitName(p), policyText(p.Policy))
	case policy.ReasonAllowNeverLogs:
		return "the filters allowed it (ALLOW), which is never logged"
	case policy.ReasonTracerHandled:
		if p.Recheck {
			return "the re-check after the tracer returned TRACE again, and a tracer-handled TRACE never logs"
		}
		return "a tracer handled it (TRACE re-check), which never logs"
	case policy.ReasonNotifContinue:
		return "the user-notification supervisor let it continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE), which never logs"
	case policy.ReasonCachedAllow:
		return "the kernel's action cache allowed it without running the filters, which never logs"
	case policy.ReasonSeccompDead:
		return "the task had already been killed by seccomp (SECCOMP_MODE_DEAD), which never logs"
	case policy.ReasonSeccompSuspended:
		return "a tracer suspended seccomp (PTRACE_O_SUSPEND_SECCOMP), which never logs"
	}
	return p.Verdict + ": " + p.Reason
}

// filterText is " #I of D" for the deciding filter, newest first.
func filterText(p pairJSON) string {
	if p.FilterIndex == nil {
		return ""
	}
	return fmt.Sprintf(" #%d (of %d, newest first)", *p.FilterIndex, p.FilterDepth)
}

// upperAction spells an action the way the kernel's constants do: ERRNO(1), KILL_PROCESS.
func upperAction(a string) string {
	name, rest, _ := strings.Cut(a, "(")
	if rest != "" {
		rest = "(" + rest
	}
	return strings.ToUpper(name) + rest
}

// bitName is the actions_logged name seccomp_log consults for p's action
// (unknown actions use kill_process).
func bitName(p pairJSON) string {
	ret, err := strconv.ParseUint(strings.TrimPrefix(p.Ret, "0x"), 16, 32)
	if err != nil {
		name, _, _ := strings.Cut(p.Action, "(")
		return name
	}
	return policy.LogBit(uint32(ret)).String()
}

// policyText turns the comma list of the JSON into the sysctl's spelling.
func policyText(s string) string {
	if s == "(none)" || s == "" {
		return "(none)"
	}
	return strings.ReplaceAll(s, ",", " ")
}
