// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/session"
)

// Exit statuses of check.
const (
	exitOK           = 0
	exitViolations   = 1
	exitInconclusive = 2
	exitToolError    = 3
)

// checkSummary is check's report; also its --output json form.
type checkSummary struct {
	Model       string   `json:"model"`
	Command     []string `json:"command"`
	CommandExit string   `json:"command_exit"`
	Decisions   int      `json:"decisions"`
	CachedAllow uint64   `json:"cached_allow"`
	// SilentCounted are decisions counted, not streamed: ok-silent by construction.
	SilentCounted uint64                    `json:"silent_counted"`
	Lost          uint64                    `json:"records_lost"`
	PerAction     map[string]*actionSummary `json:"per_action"`
	Audit         auditSummary              `json:"audit"`
	Violations    []pairJSON                `json:"violations"`
	Inconclusive  []pairJSON                `json:"inconclusive"`
	// Writes is the actions_logged timeline: every write attempt during the run.
	Writes []writeJSON `json:"actions_logged_writes"`
	// UnexplainedChanges are seccomp-logging CONFIG_CHANGE records no write explains.
	UnexplainedChanges []configChangeJSON `json:"config_change_records_without_write,omitempty"`
	Result             string             `json:"result"`
}

// auditSummary is where the emissions' records went (issue: follow the record).
type auditSummary struct {
	Followed       bool   `json:"followed"`
	Why            string `json:"why,omitempty"`
	Emissions      int    `json:"emissions"`
	Delivered      int    `json:"delivered"`
	Undelivered    int    `json:"undelivered"`
	Unmatched      int    `json:"records_without_emission"`
	Overruns       uint64 `json:"multicast_overruns"`
	LostCounterGap uint32 `json:"audit_lost_increase"`
	// BacklogStallJiffies is how long tasks slept waiting on a full audit
	// backlog during the run (a seccomp-denied syscall can stall there),
	// -1 where the kernel does not say (before 5.9).
	BacklogStallJiffies int64 `json:"backlog_stall_jiffies"`
	// Auditd is where records go after the multicast group.
	Auditd string `json:"auditd"`
}

type actionSummary struct {
	Decisions int `json:"decisions"`
	Logged    int `json:"logged"`
	Silent    int `json:"silent"`
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "usage: seccomptrace check [flags] -- CMD ARGS...\n\n"+
		"Run CMD, follow it and its descendants, and judge every seccomp decision against\n"+
		"the logging policy, and every write to actions_logged against its audit record.\n"+
		"Exit 0: all ok; 1: violations; 2: inconclusive; 3: tool error.", stderr)
	f := streamFlags{cmdStdout: os.Stdout}
	f.register(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	command := fs.Args()
	if len(command) == 0 {
		return errors.New("check needs a command: seccomptrace check [flags] -- CMD ARGS")
	}
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("bad --output %q: want text or json", f.output)
	}
	run, err := checkRun(ctx, &f, command)
	if err != nil {
		return exitWith(exitToolError, err)
	}
	sum := &run.sum
	if err := printReport(stdout, f.output == "json", sum, func(w io.Writer) { printSummary(w, sum) }); err != nil {
		return exitWith(exitToolError, err)
	}
	if run.code != exitOK {
		return exitError{run.code}
	}
	return nil
}

// checkedRun is one judged run of CMD: what check reports and explain explains.
type checkedRun struct {
	sum checkSummary
	// pairs is every judged decision, its emissions' delivery filled in.
	pairs []pairJSON
	code  int
}

// checkRun runs command in a session that holds every event until the
// audit barrier settles it, and turns the report into check's summary.
func checkRun(ctx context.Context, f *streamFlags, command []string) (*checkedRun, error) {
	run := &checkedRun{sum: checkSummary{Command: command, PerAction: map[string]*actionSummary{}, Writes: []writeJSON{}}}
	sum := &run.sum
	opts, err := f.sessionOptions(true)
	if err != nil {
		return nil, err
	}
	opts.OnEvent = func(e session.Event) error {
		if w := e.Write; w != nil {
			sum.Writes = append(sum.Writes, writeToJSON(w))
			return nil
		}
		jj := toJSON(e.Judged)
		run.pairs = append(run.pairs, jj)
		switch {
		case e.Judged.Verdict.Violation():
			sum.Violations = append(sum.Violations, jj)
		case e.Judged.Verdict == judge.Inconclusive:
			sum.Inconclusive = append(sum.Inconclusive, jj)
		}
		return nil
	}
	t, err := traceRun(ctx, f, command, opts, nil)
	if err != nil {
		return nil, err
	}
	rep := t.rep
	for _, r := range rep.UnmatchedRecords {
		sum.Inconclusive = append(sum.Inconclusive, pairJSON{Event: "decision", Pid: uint32(r.Pid), Syscall: fmt.Sprint(r.Syscall), Nr: r.Syscall, NoDecision: true,
			Verdict: string(judge.Inconclusive), Reason: fmt.Sprintf("audit record %s (code %#x) with no emission seen by the probes", r.Stamp, r.Code)})
	}
	for _, r := range rep.UnexplainedChanges {
		sum.UnexplainedChanges = append(sum.UnexplainedChanges, configChangeJSON{Serial: r.Stamp.Serial, Actions: r.Actions, OldActions: r.OldActions, Res: r.Res})
	}
	for name, a := range rep.PerAction {
		sum.PerAction[name] = &actionSummary{Decisions: a.Decisions, Logged: a.Logged, Silent: a.Silent}
	}
	a := rep.Audit
	sum.Decisions = rep.Decisions
	sum.Audit = auditSummary{Followed: a.Followed, Why: a.Why, Emissions: a.Emissions, Delivered: a.Delivered,
		Undelivered: a.Undelivered + a.Lost, Unmatched: a.Unmatched, Overruns: a.Overruns, LostCounterGap: a.LostIncrease,
		BacklogStallJiffies: a.BacklogStallJiffies, Auditd: a.Auditd}
	sum.Model = rep.Model.String()
	sum.CachedAllow, sum.SilentCounted, sum.Lost = rep.Counters.CachedAllow, rep.Counters.Silent, rep.Counters.Lost()
	sum.CommandExit = "0"
	var ee *exec.ExitError
	switch {
	case errors.As(t.cmdErr, &ee):
		sum.CommandExit = ee.ProcessState.String()
	case t.cmdErr != nil:
		sum.CommandExit = t.cmdErr.Error()
	}
	sum.Result = rep.Class.String()
	run.code = map[session.Class]int{session.Pass: exitOK, session.Violations: exitViolations, session.Inconclusive: exitInconclusive}[rep.Class]
	return run, nil
}

func printSummary(w io.Writer, s *checkSummary) {
	fmt.Fprintf(w, "\nseccomptrace check: %d decisions judged (model %s; %d cached ALLOWs counted; %d silent ones counted, not streamed), %d records lost; command exit: %s\n",
		s.Decisions, s.Model, s.CachedAllow, s.SilentCounted, s.Lost, s.CommandExit)
	names := make([]string, 0, len(s.PerAction))
	for n := range s.PerAction {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "  %-16s %9s %7s %7s\n", "ACTION", "DECISIONS", "LOGGED", "SILENT")
	for _, n := range names {
		a := s.PerAction[n]
		fmt.Fprintf(w, "  %-16s %9d %7d %7d\n", n, a.Decisions, a.Logged, a.Silent)
	}
	for _, v := range s.Violations {
		fmt.Fprintf(w, "  VIOLATION %s: pid %d%s %s action=%s filter=%s flag_log=%s actions_logged=%s: %s\n",
			v.Verdict, v.Pid, whoText(v), v.Syscall, v.Action, idxString(v.FilterIndex), boolString(v.FlagLog), v.Policy, v.Reason)
	}
	for _, v := range s.Inconclusive {
		fmt.Fprintf(w, "  INCONCLUSIVE: pid %d%s %s: %s\n", v.Pid, whoText(v), v.Syscall, v.Reason)
	}
	if len(s.Writes) > 0 {
		fmt.Fprintf(w, "  actions_logged writes:\n")
		for _, wr := range s.Writes {
			t, _ := time.Parse(time.RFC3339Nano, wr.Time)
			fmt.Fprintf(w, "    %s\n", writeLine(wr, t.Local().Format("15:04:05.000000")))
		}
	}
	for _, r := range s.UnexplainedChanges {
		fmt.Fprintf(w, "  INCONCLUSIVE: CONFIG_CHANGE record serial=%d actions=%s old-actions=%s res=%d with no write seen by the probe\n",
			r.Serial, escape(r.Actions), escape(r.OldActions), r.Res)
	}
	if s.Audit.Followed {
		fmt.Fprintf(w, "  audit: %d of %d emissions delivered to the multicast group, %d undelivered, %d records without emission, %d overruns, audit_lost +%d\n",
			s.Audit.Delivered, s.Audit.Emissions, s.Audit.Undelivered, s.Audit.Unmatched, s.Audit.Overruns, s.Audit.LostCounterGap)
	} else {
		fmt.Fprintf(w, "  audit: records not followed: %s\n", s.Audit.Why)
	}
	if s.Audit.BacklogStallJiffies > 0 {
		fmt.Fprintf(w, "  audit: tasks slept %d jiffies in audit_log_start waiting on a full backlog (the syscalls stalled)\n", s.Audit.BacklogStallJiffies)
	}
	if s.Audit.Auditd != "" {
		fmt.Fprintf(w, "  auditd: %s\n", s.Audit.Auditd)
	}
	fmt.Fprintf(w, "result: %s\n", s.Result)
}

// whoText names a decision's exe, container and unit where known, escaped:
// " (/usr/bin/x, container 3f4e2a1b9c8d, unit nginx.service)".
func whoText(p pairJSON) string {
	var parts []string
	if p.Exe != "" {
		parts = append(parts, escape(p.Exe))
	}
	if p.ContainerID != "" {
		parts = append(parts, "container "+shortID(p.ContainerID))
	}
	switch {
	case p.UserUnit != "":
		parts = append(parts, "unit "+escape(p.UserUnit))
	case p.Unit != "":
		parts = append(parts, "unit "+escape(p.Unit))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func idxString(i *int) string {
	if i == nil {
		return "-"
	}
	return fmt.Sprint(*i)
}

func boolString(b *bool) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprint(*b)
}

func exitWith(code int, err error) error {
	fmt.Fprintln(os.Stderr, "seccomptrace: "+oneLine(err))
	return exitError{code}
}
