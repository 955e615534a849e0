// SPDX-License-Identifier: Apache-2.0

package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
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
	Model *policy.Model
	// Filter keeps only cases whose name matches.
	Filter      *regexp.Regexp
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
}

// Report is a whole run.
type Report struct {
	Model    policy.Model
	Plan     observer.Plan
	Results  []Result
	Counters observer.Counters
	Overruns uint64
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

// Run runs the cases, restoring every setting it changed before it returns,
// also when ctx is cancelled (SIGINT/SIGTERM in the CLI).
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

	o, err := observer.Open(observer.Options{PIDs: []int{os.Getpid()}, FollowForks: true, ForceKprobe: opts.ForceKprobe})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	rep = &Report{Plan: o.Plan(), Model: observer.ModelFor(o.Plan())}
	if opts.Model != nil {
		rep.Model = *opts.Model
	}
	checker, err := observer.NewChecker(rep.Model, false)
	if err != nil {
		return nil, err
	}
	rec, err := observer.NewAuditFeed(audit.ReaderOptions{}, nil)
	if err != nil {
		return nil, err
	}
	defer rec.Close()

	// Read all the time, not only between cases: a child's burst of decisions
	// (every syscall is sent where there is no action cache, 5.10) must not
	// fill the ring buffer while it runs.
	var mu sync.Mutex
	byPid := map[uint32][]observer.Judged{}
	drained, readErr := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			ev, err := o.Read()
			if errors.Is(err, observer.ErrDrained) {
				drained <- struct{}{}
				continue
			}
			if err != nil {
				readErr <- err
				return
			}
			mu.Lock()
			for _, j := range checker.Add(ev) {
				byPid[judgedPid(j)] = append(byPid[judgedPid(j)], j)
			}
			mu.Unlock()
		}
	}()
	judged := make([][]observer.Judged, len(cases))
	childErr := make([]string, len(cases))
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
		pid, err := runChild(c)
		if err != nil {
			childErr[i] = err.Error()
		}
		// The child has exited: Flush is the barrier for every record it caused.
		if err := o.Flush(); err != nil {
			return nil, err
		}
		select {
		case <-drained:
		case err := <-readErr:
			return nil, fmt.Errorf("reading events: %w", err)
		}
		mu.Lock()
		judged[i] = byPid[uint32(pid)]
		delete(byPid, uint32(pid))
		mu.Unlock()
	}
	// Barrier: a LOG record under the default policy; kauditd sends in order.
	if err := sys.apply(policy.DefaultLogged.String(), AuditOff); err != nil {
		return nil, err
	}
	followed := rec.Barrier() == nil
	rec.Close()
	rep.Overruns = rec.Overruns()
	if rep.Counters, err = o.Counters(); err != nil {
		return nil, err
	}
	joiner := observer.NewJoiner()
	for _, r := range rec.Seccomp() {
		joiner.AddRecord(r)
	}
	for i := range cases {
		for _, j := range judged[i] {
			for _, e := range j.Emissions {
				joiner.AddEmission(e, j.Drops...)
			}
		}
	}
	noNotif := !strings.Contains(readAvail(), "user_notif")
	for i := range cases {
		rep.Results = append(rep.Results, judge(&cases[i], judged[i], childErr[i], joiner, followed, rep.Model, noNotif))
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func judgedPid(j observer.Judged) uint32 {
	if j.Decision != nil {
		return j.Decision.Tgid
	}
	if len(j.Emissions) > 0 {
		return j.Emissions[0].Tgid
	}
	if len(j.SeccompLogs) > 0 {
		return j.SeccompLogs[0].Tgid
	}
	if len(j.Drops) > 0 {
		return j.Drops[0].Tgid
	}
	return 0
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

func judge(c *Case, js []observer.Judged, childErr string, joiner *observer.Joiner, followed bool, model policy.Model, noNotif bool) Result {
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
		if j.Verdict == observer.Inconclusive {
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
			if j.Verdict != observer.OKLogged && j.Verdict != observer.OKSilent {
				badDecision = fmt.Sprintf("interrupted USER_NOTIF wait judged %s: %s", j.Verdict, j.Reason)
			}
			decisions--
		} else if len(j.Emissions) != wantPer {
			// Judged per decision: a USER_NOTIF wait interrupted by a signal is
			// logged and the syscall restarted, giving a second decision (§3).
			badDecision = fmt.Sprintf("a decision the kernel logged %d time(s), policy (%s) says %d", len(j.Emissions), r.Reason, wantPer)
		}
		for _, e := range j.Emissions {
			r.Emissions++
			if d := joiner.Delivery(e, followed, j.Drops); d.State == observer.Delivered {
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
func judgeStrictAllowed(r Result, js []observer.Judged) Result {
	for _, j := range js {
		r.Emissions += len(j.Emissions)
		if j.Verdict == observer.Inconclusive {
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

func readAvail() string {
	b, _ := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	return string(b)
}

// Avail returns actions_avail as a set (allow included).
func Avail() policy.ActionSet {
	var set policy.ActionSet
	for _, name := range strings.Fields(readAvail()) {
		if name == "allow" {
			set |= policy.BitAllow
			continue
		}
		if s, err := policy.ParseActionsLoggedRead(name); err == nil {
			set |= s
		}
	}
	return set
}
