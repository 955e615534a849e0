// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"
	"os"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Verdict says whether a decision was logged as the policy requires.
type Verdict string

// Verdicts.
const (
	OKLogged      Verdict = "ok-logged"      // should log, did
	OKSilent      Verdict = "ok-silent"      // should not log, did not
	MissingLog    Verdict = "missing-log"    // should have logged, no emission
	UnexpectedLog Verdict = "unexpected-log" // emission the policy forbids
	Inconclusive  Verdict = "inconclusive"   // a drop, an unknown action or path, a policy race
)

// Violation reports whether v breaks the policy.
func (v Verdict) Violation() bool { return v == MissingLog || v == UnexpectedLog }

// Judged is a pair with its verdict.
type Judged struct {
	Pair
	Verdict Verdict
	// Expected is the oracle's answer: a record must be attempted.
	Expected bool
	// Reason is the rule that decided (policy.Reason), or why the verdict is inconclusive.
	Reason string
	// Path is how the decision ended (§3).
	Path          policy.Path
	ActionsLogged policy.ActionSet
	Model         policy.Model
}

// Checker judges decisions against the logging policy in force at each one.
// Feed it every event in ring-buffer order.
type Checker struct {
	model  policy.Model
	pairer *Pairer
	// actionsLogged is the userspace view, used when the probe cannot read the kernel variable.
	actionsLogged policy.ActionSet
	auditEnabled  bool
	// rechecked holds outer TRACE decisions whose re-check has been seen (it exits first).
	rechecked map[uint64]bool
	noNotif   bool
	// OtherDrops are audit losses seen outside any decision.
	OtherDrops []*AuditDrop
}

// ModelFor picks the model from the emission symbol the kernel has (§5.1).
func ModelFor(p Plan) policy.Model {
	if p.EmissionSym == "__audit_seccomp" {
		return policy.ModelPre418
	}
	return policy.ModelPost418
}

// NewChecker reads the current actions_logged and returns a Checker.
// auditEnabled is used for the pre-4.18 model when the probe cannot read audit_enabled.
func NewChecker(model policy.Model, auditEnabled bool) (*Checker, error) {
	set, err := ReadActionsLogged()
	if err != nil {
		return nil, err
	}
	return &Checker{
		model:         model,
		pairer:        NewPairer(),
		actionsLogged: set,
		auditEnabled:  auditEnabled,
		rechecked:     make(map[uint64]bool),
		noNotif:       !kernelHasUserNotif(),
	}, nil
}

// ReadActionsLogged reads kernel.seccomp.actions_logged.
func ReadActionsLogged() (policy.ActionSet, error) {
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	if err != nil {
		return 0, fmt.Errorf("reading actions_logged: %w", err)
	}
	set, err := policy.ParseActionsLoggedRead(string(b))
	if err != nil {
		return 0, fmt.Errorf("parsing actions_logged %q: %w", strings.TrimSpace(string(b)), err)
	}
	return set, nil
}

// Add takes one event and returns the judged pairs it completes.
func (c *Checker) Add(ev Event) []Judged {
	if s, ok := ev.(*SysctlWrite); ok {
		c.policyChanged(s)
		return nil
	}
	var out []Judged
	for _, p := range c.pairer.Add(ev) {
		if p.Decision == nil && len(p.Emissions) == 0 && len(p.SeccompLogs) == 0 {
			// An audit loss outside any decision (another task's record, the
			// kauditd queues): not a verdict, but the run saw a loss.
			c.OtherDrops = append(c.OtherDrops, p.Drops...)
			continue
		}
		out = append(out, c.judge(p))
	}
	return out
}

// Flush judges what is left: emissions whose decision never arrived.
func (c *Checker) Flush() []Judged {
	var out []Judged
	for _, p := range c.pairer.Flush() {
		out = append(out, Judged{Pair: p, Verdict: Inconclusive, Reason: "emission whose decision record never arrived", Model: c.model})
	}
	return out
}

func (c *Checker) policyChanged(s *SysctlWrite) {
	if set, ok := s.ValueAfter(c.actionsLogged); ok {
		c.actionsLogged = set
		return
	}
	// Neither the variable nor the string is known: ask the sysctl, after the write returned (racy).
	if set, err := ReadActionsLogged(); err == nil {
		c.actionsLogged = set
	}
}

func (c *Checker) judge(p Pair) Judged {
	j := Judged{Pair: p, Model: c.model, ActionsLogged: c.actionsLogged}
	d := p.Decision
	if d == nil {
		// audit_seccomp outside __seccomp_filter: strict mode (mode 1) kills with KILL_THREAD (§3).
		e := p.Emissions
		if len(e) == 1 && e[0].Signr == 9 && e[0].Code == policy.KillThread {
			j.Path = policy.PathStrict
			exp, reason := policy.Expect(policy.Decision{Action: policy.KillThread, Requested: true, Path: policy.PathStrict}, c.policy(), c.model)
			return c.verdict(j, exp, string(reason), true)
		}
		j.Verdict, j.Reason = Inconclusive, "emission without a seccomp decision"
		return j
	}
	if d.PolicyRead {
		if d.ActionsLoggedEntry != d.ActionsLoggedExit {
			j.Verdict = Inconclusive
			j.Reason = fmt.Sprintf("actions_logged changed during the decision (%s -> %s)",
				policy.ActionSet(d.ActionsLoggedEntry).AuditString(), policy.ActionSet(d.ActionsLoggedExit).AuditString())
			return j
		}
		j.ActionsLogged = policy.ActionSet(d.ActionsLoggedExit)
	}
	if !d.Known {
		j.Verdict, j.Reason = Inconclusive, "action unknown: "+d.Unknown
		return j
	}
	action := policy.ActionOnly(d.Ret)
	switch {
	case action == policy.Trace && d.Recheck:
		// The re-check returned TRACE again: `if (recheck_after_trace) return 0`, no log.
		j.Path = policy.PathTracerHandled
	case action == policy.Trace && c.rechecked[d.Seq]:
		// The tracer let the syscall go on; the re-check decided (and logged) instead.
		delete(c.rechecked, d.Seq)
		j.Path = policy.PathTracerHandled
	case action == policy.UserNotif && !d.Skipped:
		j.Path = policy.PathNotifContinue
	case d.Strict:
		j.Path = policy.PathStrict
	}
	if d.Recheck && d.ParentSeq != 0 {
		c.rechecked[d.ParentSeq] = true
	}
	audited := d.AuditCtx && !d.AuditDummy
	if d.PolicyRead {
		audited = audited && d.AuditEnabled != 0
	} else {
		audited = audited && c.auditEnabled
	}
	// Where the kernel has seccomp_log (a rebuilt kernel) it is ground truth for
	// the reconstruction: any disagreement is a bug in seccomptrace or the kernel.
	// The kill and LOG call sites pass requested=true whatever FLAG_LOG says (§3).
	callRequested := true
	switch action {
	case policy.Trap, policy.Errno, policy.Trace, policy.UserNotif:
		callRequested = d.Requested()
	}
	for _, sl := range p.SeccompLogs {
		if sl.Code != action || sl.Requested != callRequested {
			j.Verdict = Inconclusive
			j.Reason = fmt.Sprintf("RECONSTRUCTION DISAGREES WITH seccomp_log: kernel logged action %#x requested=%v, re-evaluation gives %#x requested=%v",
				sl.Code, sl.Requested, action, callRequested)
			return j
		}
	}
	exp, reason := policy.Expect(policy.Decision{Action: d.Ret, Requested: d.Requested(), Path: j.Path, Audited: audited}, c.policy(j.ActionsLogged), c.model)
	return c.verdict(j, exp, string(reason), false)
}

func (c *Checker) policy(set ...policy.ActionSet) policy.Policy {
	p := policy.Policy{ActionsLogged: c.actionsLogged, NoUserNotif: c.noNotif}
	if len(set) > 0 {
		p.ActionsLogged = set[0]
	}
	return p
}

func (c *Checker) verdict(j Judged, expected bool, reason string, strict bool) Judged {
	j.Expected, j.Reason = expected, reason
	logged := len(j.Emissions) > 0
	switch {
	case expected && logged:
		j.Verdict = OKLogged
	case !expected && !logged:
		j.Verdict = OKSilent
	case expected:
		j.Verdict = MissingLog
	default:
		j.Verdict = UnexpectedLog
	}
	if logged && !strict && j.Decision != nil {
		// The record must carry the deciding action, data stripped (§4).
		want := policy.ActionOnly(j.Decision.Ret)
		for _, e := range j.Emissions {
			if e.Code != want {
				j.Verdict, j.Reason = UnexpectedLog, fmt.Sprintf("emission code %#x, decision was %#x", e.Code, want)
			}
		}
		if len(j.Emissions) > 1 {
			j.Verdict, j.Reason = UnexpectedLog, fmt.Sprintf("%d emissions for one decision", len(j.Emissions))
		}
	}
	return j
}
