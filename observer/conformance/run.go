// SPDX-License-Identifier: Apache-2.0

package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// Status is a case's result.
type Status string

// Statuses.
const (
	Pass         Status = "pass"
	Fail         Status = "fail"
	Skip         Status = "skip"
	Inconclusive Status = "inconclusive"
)

// Options configure Run.
type Options struct {
	// Model is the kernel model to judge against; nil picks it from the kernel.
	Model       *policy.Model
	ForceKprobe bool
	// StatePath is where the state to restore is saved (DefaultStatePath when empty).
	StatePath string
}

// Result is one case's outcome.
type Result struct {
	Case     Case
	Status   Status
	Expected bool          // the oracle: a record must be attempted
	Reason   policy.Reason // the rule that decided
	// Emissions is how often the kernel decided to log; Delivered how many
	// of those records reached the audit multicast group.
	Emissions, Delivered int
	Serials              []uint32
	Detail               string
	// AuditLostRise is how much the kernel's audit_lost rose between the
	// case's marks (known when AuditLostKnown): any rise makes a pass
	// inconclusive, since a record the case caused may be among the lost.
	AuditLostRise  uint32
	AuditLostKnown bool
}

// Report is a whole run.
type Report struct {
	Model   policy.Model
	Plan    observer.Plan
	Results []Result
	// Session is the run's own report: ring losses, audit summary.
	Session  *session.Report
	Duration time.Duration
}

// Select filters cases by name.
func Select(cases []Case, re *regexp.Regexp) []Case {
	if re == nil {
		return cases
	}
	var out []Case
	for _, c := range cases {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// caseRun is what one case's child left in the stream.
type caseRun struct {
	pid      uint32
	from, to session.Mark
	childErr string
}

// Run runs the cases, restoring every setting it changed before it returns,
// also when ctx is cancelled (SIGINT/SIGTERM in the CLI). progress, if not
// nil, is called before each case and once more with c nil when the cases
// are done, before the final audit barrier.
func Run(ctx context.Context, cases []Case, opts Options, progress func(done, total int, c *Case)) (rep *Report, err error) {
	start := time.Now()
	statePath := opts.StatePath
	if statePath == "" {
		statePath = DefaultStatePath
	}
	sys, err := saveSystem(statePath)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := sys.restore(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()

	// Every event is held until the end, when the barrier settles where
	// its record went; cases are told apart by their marks and pids.
	var events []session.Event
	s, err := session.Start(session.Options{
		Probes:     observer.Options{ForceKprobe: opts.ForceKprobe},
		FollowSelf: true,
		Model:      opts.Model,
		OnEvent: func(e session.Event) error {
			events = append(events, e.Clone()) // the session reuses e
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	rep = &Report{Plan: s.Plan(), Model: s.Model()}
	if followed, why := s.AuditFollowed(); !followed {
		return nil, fmt.Errorf("conformance follows every record to the audit multicast group: %s", why)
	}

	runs := make([]caseRun, len(cases))
	for i := range cases {
		c := &cases[i]
		if progress != nil {
			progress(i, len(cases), c)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("conformance interrupted after %d of %d cases: %w", i, len(cases), ctx.Err())
		}
		if c.Skip != "" {
			continue
		}
		if err := sys.apply(c.Set.String(), c.Audit); err != nil {
			return nil, fmt.Errorf("case %q: %w", c.Name, err)
		}
		r := &runs[i]
		if r.from, err = s.Mark(); err != nil {
			return nil, err
		}
		pid, err := runChild(c)
		if err != nil {
			r.childErr = err.Error()
		}
		r.pid = uint32(pid)
		// The child has exited: the mark is the barrier for every record it caused.
		if r.to, err = s.Mark(); err != nil {
			return nil, err
		}
	}
	if progress != nil {
		progress(len(cases), len(cases), nil)
	}
	// Barrier: a LOG record under the default policy; kauditd sends in order.
	if err := sys.apply(policy.DefaultLogged.String(), AuditOff); err != nil {
		return nil, err
	}
	if rep.Session, err = s.Finish(); err != nil {
		return nil, err
	}
	noNotif := !observer.HasUserNotif()
	for i := range cases {
		r := runs[i]
		var js []*judge.Judged
		for _, e := range events {
			if e.Judged != nil && e.Index >= r.from.Judged && e.Index < r.to.Judged && e.Judged.Pid() == r.pid {
				js = append(js, e.Judged)
			}
		}
		res := judgeCase(&cases[i], js, r.childErr, rep.Model, noNotif)
		if r.from.AuditLostKnown && r.to.AuditLostKnown {
			res.AuditLostKnown = true
			if r.to.AuditLost > r.from.AuditLost {
				res.AuditLostRise = r.to.AuditLost - r.from.AuditLost
			}
		}
		switch {
		case res.Status == Pass && res.AuditLostRise > 0:
			res.Status, res.Detail = Inconclusive, fmt.Sprintf("the kernel's audit_lost rose by %d during the case", res.AuditLostRise)
		case res.Status == Inconclusive && res.AuditLostRise > 0:
			res.Detail += fmt.Sprintf("; the kernel's audit_lost rose by %d during the case", res.AuditLostRise)
		}
		// A record queued but never read was dropped by this reader's
		// socket, not by the kernel: say so where the socket overran.
		if res.Status == Inconclusive && res.Delivered < res.Emissions && rep.Session.Audit.Overruns > 0 {
			res.Detail += fmt.Sprintf("; the audit multicast socket overran %d times during the run", rep.Session.Audit.Overruns)
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// runChild runs the case's child and checks it ended as the case says.
func runChild(c *Case) (int, error) {
	dir, err := os.MkdirTemp("", "seccomptrace-case")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "result.json")
	if c.scenario.Trace != nil {
		res, _, err := workload.Run(c.scenario, path)
		if res == nil {
			return 0, err
		}
		return res.Pid, err
	}
	cmd, err := workload.Spawn(c.scenario, path)
	if err != nil {
		return 0, err
	}
	werr := cmd.Wait()
	if c.exec() {
		// The helper reports only by how it ended.
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case !ok:
		case c.exitSignal != 0 && ws.Signaled() && ws.Signal() == c.exitSignal:
			return cmd.Process.Pid, nil
		case c.exitSignal == 0 && ws.Exited() && ws.ExitStatus() == c.exitStatus:
			return cmd.Process.Pid, nil
		}
		want := fmt.Sprintf("exit status %d", c.exitStatus)
		if c.exitSignal != 0 {
			want = "killed by " + c.exitSignal.String()
		}
		return cmd.Process.Pid, fmt.Errorf("helper ended with %v, want %s", cmd.ProcessState, want)
	}
	if c.killed() {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
			return cmd.Process.Pid, fmt.Errorf("child was not killed by SIGSYS: %v", cmd.ProcessState)
		}
		return cmd.Process.Pid, nil
	}
	if werr != nil {
		return cmd.Process.Pid, fmt.Errorf("child: %w", werr)
	}
	_, err = workload.ReadResult(path)
	return cmd.Process.Pid, err
}

func judgeCase(c *Case, js []*judge.Judged, childErr string, model policy.Model, noNotif bool) Result {
	r := Result{Case: *c}
	if c.Skip != "" {
		r.Status, r.Detail = Skip, c.Skip
		return r
	}
	r.Expected, r.Reason = policy.Expect(policy.Decision{Action: c.Action, Requested: c.FlagLog, Path: c.Path(), Audited: c.Audit == AuditOnRule},
		policy.Policy{ActionsLogged: c.Set, NoUserNotif: noNotif}, model)
	if childErr != "" {
		r.Status, r.Detail = Fail, "child: "+childErr
		return r
	}
	wantPer := 0
	if r.Expected {
		wantPer = 1
	}
	if c.Variant == StrictAllowed {
		return judgeStrictAllowed(r, js)
	}
	decisions, badDecision := 0, ""
	for _, j := range js {
		if j.Decision == nil {
			r.Status, r.Detail = Inconclusive, "emission, seccomp_log call or audit drop outside a decision"
			return r
		}
		if j.Decision.Syscall != c.nr || j.Decision.Data.Arch != c.arch {
			continue
		}
		if j.Decision.Strict != (c.Variant == Strict) {
			r.Status, r.Detail = Fail, fmt.Sprintf("decision strict=%v, the case is strict=%v", j.Decision.Strict, c.Variant == Strict)
			return r
		}
		decisions++
		if j.Verdict == judge.Inconclusive {
			r.Status, r.Detail = Inconclusive, j.Reason
			return r
		}
		want := c.Action
		if policy.ActionOnly(want) == policy.Allow {
			want = policy.Allow // no filter beats ALLOW, so its data is never returned (§4)
		}
		if !j.Decision.Recheck && j.Decision.Ret != want {
			r.Status, r.Detail = Fail, fmt.Sprintf("re-evaluation gives %s, the case installed %s", policy.ActionName(j.Decision.Ret), policy.ActionName(c.Action))
			return r
		}
		if c.Variant == NotifContinue && j.Decision.Skipped {
			// A wait interrupted by a signal: skipped and judged on its own path
			// (logged if requested); the restarted call carries the case.
			if j.Verdict != judge.OKLogged && j.Verdict != judge.OKSilent {
				badDecision = fmt.Sprintf("interrupted USER_NOTIF wait judged %s: %s", j.Verdict, j.Reason)
			}
			decisions--
		} else if len(j.Emissions) != wantPer {
			// Judged per decision: a USER_NOTIF wait interrupted by a signal is
			// logged and the syscall restarted, giving a second decision (§3).
			badDecision = fmt.Sprintf("a decision the kernel logged %d time(s), policy (%s) says %d", len(j.Emissions), r.Reason, wantPer)
		}
		for _, d := range j.Deliveries {
			r.Emissions++
			if d.State == judge.Delivered {
				r.Delivered++
				r.Serials = append(r.Serials, d.Record.Stamp.Serial)
			}
		}
	}
	switch {
	case decisions == 0:
		r.Status, r.Detail = Inconclusive, "no decision observed for the case's syscall"
	case badDecision != "":
		r.Status, r.Detail = Fail, badDecision
	case r.Delivered != r.Emissions:
		r.Status, r.Detail = Inconclusive, fmt.Sprintf("%d of %d records reached the audit multicast group", r.Delivered, r.Emissions)
	default:
		r.Status = Pass
	}
	return r
}

// judgeStrictAllowed: a syscall on the mode-1 list runs with no decision
// (no filter exists) and nothing may be logged for the process.
func judgeStrictAllowed(r Result, js []*judge.Judged) Result {
	for _, j := range js {
		r.Emissions += len(j.Emissions)
		if j.Verdict == judge.Inconclusive {
			r.Status, r.Detail = Inconclusive, j.Reason
			return r
		}
		if j.Decision != nil && j.Decision.Strict {
			r.Status, r.Detail = Fail, fmt.Sprintf("a strict-mode kill of syscall %d was seen for an allowed call", j.Decision.Syscall)
			return r
		}
	}
	if r.Emissions != 0 {
		r.Status, r.Detail = Fail, fmt.Sprintf("the kernel logged %d time(s) for a syscall strict mode allows", r.Emissions)
		return r
	}
	r.Status = Pass
	return r
}
