// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/policy"
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
	Model        string                    `json:"model"`
	Command      []string                  `json:"command"`
	CommandExit  string                    `json:"command_exit"`
	Decisions    int                       `json:"decisions"`
	CachedAllow  uint64                    `json:"cached_allow"`
	Lost         uint64                    `json:"records_lost"`
	PerAction    map[string]*actionSummary `json:"per_action"`
	Audit        auditSummary              `json:"audit"`
	Violations   []pairJSON                `json:"violations"`
	Inconclusive []pairJSON                `json:"inconclusive"`
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
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seccomptrace check [flags] -- CMD ARGS...\n\n"+
			"Run CMD, follow it and its descendants, and judge every seccomp decision against\n"+
			"the logging policy, and every write to actions_logged against its audit record.\n"+
			"Exit 0: all ok; 1: violations; 2: inconclusive; 3: tool error.")
		fs.PrintDefaults()
	}
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
	run, err := checkRun(ctx, &f, command, stderr)
	if err != nil {
		return exitWith(exitToolError, err)
	}
	sum := &run.sum
	if f.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return exitWith(exitToolError, err)
		}
	} else {
		printSummary(stdout, sum)
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

// checkRun runs command under the probes while following the audit group,
// ends with a barrier, joins records to emissions and writes, and judges.
func checkRun(ctx context.Context, f *streamFlags, command []string, stderr io.Writer) (*checkedRun, error) {
	run := &checkedRun{sum: checkSummary{Command: command, PerAction: map[string]*actionSummary{}, Writes: []writeJSON{}}}
	sum := &run.sum
	initial, err := observer.ReadActionsLogged()
	if err != nil {
		return nil, err
	}
	timeline := observer.NewTimeline(initial, observer.RecordsUnknown)
	follower := followAudit(f.auditBuffer, nil)
	var judged []observer.Judged
	res, err := stream(ctx, f, command, stderr, handlers{
		write: func(s *observer.SysctlWrite) error {
			timeline.AddWrite(s)
			return nil
		},
		judged: func(j observer.Judged) error {
			judged = append(judged, j)
			if j.Decision != nil {
				sum.Decisions++
				name := "unknown"
				if j.Decision.Known {
					name = codeName(policy.ActionOnly(j.Decision.Ret))
				}
				a := sum.PerAction[name]
				if a == nil {
					a = &actionSummary{}
					sum.PerAction[name] = a
				}
				a.Decisions++
				if len(j.Emissions) > 0 {
					a.Logged++
				} else {
					a.Silent++
				}
			}
			return nil
		},
	})
	if err != nil {
		follower.stop()
		return nil, err
	}
	joiner, pids := follower.finish(judged, &sum.Audit)
	for _, j := range judged {
		jj := toJSON(j)
		applyDelivery(&jj, j, joiner, sum.Audit.Followed)
		run.pairs = append(run.pairs, jj)
		switch {
		case j.Verdict.Violation():
			sum.Violations = append(sum.Violations, jj)
		case jj.Verdict == string(observer.Inconclusive):
			sum.Inconclusive = append(sum.Inconclusive, jj)
		}
	}
	for _, r := range joiner.UnmatchedRecords(func(pid uint32) bool { return pids[pid] }) {
		sum.Audit.Unmatched++
		sum.Inconclusive = append(sum.Inconclusive, pairJSON{Event: "decision", Pid: uint32(r.Pid), Syscall: fmt.Sprint(r.Syscall), Nr: r.Syscall, NoDecision: true,
			Verdict: string(observer.Inconclusive), Reason: fmt.Sprintf("audit record %s (code %#x) with no emission seen by the probes", r.Stamp, r.Code)})
	}

	// The actions_logged timeline: every write attempt and its CONFIG_CHANGE record.
	before, after := follower.statuses()
	rule := recordRule(res.model, before, after)
	timeline.SetRule(rule)
	if follower.feed != nil {
		for _, r := range follower.feed.ConfigChanges() {
			timeline.AddRecord(r)
		}
	}
	followed, why := sum.Audit.Followed && sum.Audit.Overruns == 0, sum.Audit.Why
	if sum.Audit.Overruns > 0 {
		why = fmt.Sprintf("%d multicast overruns", sum.Audit.Overruns)
	}
	left := timeline.Finish(followed, why)
	writesBad, writesUnsure := false, len(left) > 0
	for _, w := range timeline.Writes() {
		sum.Writes = append(sum.Writes, writeToJSON(w, rule))
		writesBad = writesBad || w.Violation()
		writesUnsure = writesUnsure || w.Verdict == observer.Inconclusive
	}
	for _, r := range left {
		sum.UnexplainedChanges = append(sum.UnexplainedChanges, configChangeJSON{Serial: r.Stamp.Serial, Actions: r.Actions, OldActions: r.OldActions, Res: r.Res})
	}

	sum.Model = res.model.String()
	sum.CachedAllow, sum.Lost = res.counters.CachedAllow, res.counters.Lost()
	sum.CommandExit = "0"
	var ee *exec.ExitError
	switch {
	case errors.As(res.cmdErr, &ee):
		sum.CommandExit = ee.ProcessState.String()
	case res.cmdErr != nil:
		sum.CommandExit = res.cmdErr.Error()
	}
	run.code = exitOK
	sum.Result = "pass"
	switch {
	case len(sum.Violations) > 0 || writesBad:
		run.code, sum.Result = exitViolations, "violations"
	case len(sum.Inconclusive) > 0 || writesUnsure || sum.Lost > 0 || sum.Audit.Overruns > 0 || sum.Audit.LostCounterGap > 0:
		run.code, sum.Result = exitInconclusive, "inconclusive"
	}
	return run, nil
}

// applyDelivery fills in where each emission's record went. A record the
// kernel decided to write that did not arrive makes the verdict
// inconclusive: a loss is never a pass.
func applyDelivery(jj *pairJSON, j observer.Judged, joiner *observer.Joiner, followed bool) {
	for i, e := range j.Emissions {
		d := joiner.Delivery(e, followed, j.Drops)
		jj.Emissions[i].Delivery = deliveryString(d)
		if d.Record != nil {
			jj.Emissions[i].Serial = d.Record.Stamp.Serial
		}
		if (d.State == observer.Undelivered || d.State == observer.Lost) && j.Verdict != observer.Inconclusive && !j.Verdict.Violation() {
			jj.Verdict, jj.Reason = string(observer.Inconclusive), "record decided but not delivered: "+jj.Emissions[i].Delivery
		}
	}
}

func deliveryString(d observer.Delivery) string {
	if d.State == observer.Lost {
		return "lost(" + d.Reason + ")"
	}
	return string(d.State)
}

func printSummary(w io.Writer, s *checkSummary) {
	fmt.Fprintf(w, "\nseccomptrace check: %d decisions judged (model %s; %d cached ALLOWs counted), %d records lost; command exit: %s\n",
		s.Decisions, s.Model, s.CachedAllow, s.Lost, s.CommandExit)
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
		fmt.Fprintf(w, "  VIOLATION %s: pid %d %s action=%s filter=%s flag_log=%s actions_logged=%s: %s\n",
			v.Verdict, v.Pid, v.Syscall, v.Action, idxString(v.FilterIndex), boolString(v.FlagLog), v.Policy, v.Reason)
	}
	for _, v := range s.Inconclusive {
		fmt.Fprintf(w, "  INCONCLUSIVE: pid %d %s: %s\n", v.Pid, v.Syscall, v.Reason)
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
