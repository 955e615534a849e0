// SPDX-License-Identifier: Apache-2.0

// Package judge decides, in pure Go, what the observed events mean: it
// pairs each decision with its emissions, judges it against the logging
// policy in force at that instant, joins emissions to the AUDIT_SECCOMP
// records that left the kernel, and judges every write to actions_logged
// against its CONFIG_CHANGE record. It reads nothing from the system:
// whatever it needs to know comes in through Config, events and records,
// so it is table-tested without a kernel.
//
// The facts it applies are in docs/kernel-semantics.md.
package judge

import (
	"fmt"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
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

// Judged is a pair with its verdict and, once resolved (Joiner.Resolve),
// where each emission's record went.
type Judged struct {
	Pair
	Verdict Verdict
	// Expected is the oracle's answer: a record must be attempted.
	Expected bool
	// Reason is the rule that decided (policy.Reason), or why the verdict is inconclusive.
	Reason string
	// Path is how the decision ended (§3).
	Path policy.Path
	// Audited is the pre-4.18 "audited task" condition as the decision
	// saw it (§7): audit enabled, an audit context, not dummy.
	Audited       bool
	ActionsLogged policy.ActionSet
	Model         policy.Model
	// Deliveries are the fates of Emissions, index for index; nil until resolved.
	Deliveries []Delivery
}

// Config is what a Checker knows of the system when it starts.
type Config struct {
	Model policy.Model
	// ActionsLogged is the value at the start; writes the probe sees update it.
	ActionsLogged policy.ActionSet
	// AuditEnabled is used for the pre-4.18 "audited task" test when the
	// probe cannot read audit_enabled itself.
	AuditEnabled bool
	// NoUserNotif: the kernel has no user_notif (before 5.0).
	NoUserNotif bool
	// ReadBack reads actions_logged after a write whose new value the
	// probe could neither read nor parse (racy: another write may have
	// come since); nil leaves the value unknown.
	ReadBack func() (policy.ActionSet, error)
}

// Checker judges decisions against the logging policy in force at each one,
// and follows that policy through the writes to actions_logged. Feed it
// every event in ring-buffer order. Not safe for concurrent use.
type Checker struct {
	cfg    Config
	pairer *Pairer
	// actionsLogged is the userspace view, used when the probe cannot read the kernel variable.
	actionsLogged policy.ActionSet
	// rechecked holds the tasks whose TRACE re-check has returned: their
	// next decision is the outer one.
	rechecked map[uint32]bool
	// lastChange is the last write that changed actions_logged.
	lastChange change
}

type change struct {
	Time     time.Time
	Tid      uint32 // the writer: its own later decisions follow the write
	Old, New policy.ActionSet
}

// RaceWindow bounds the time from seccomp_log to __seccomp_filter's return:
// a decision that returned within it after actions_logged changed may have
// been logged under either value, so it is inconclusive. The probes see the
// return only; the path in between is a few microseconds (more under TCG),
// unless the task is preempted there. The writing thread's own later
// decisions come after its write returned, so they are exempt.
const RaceWindow = time.Millisecond

// NewChecker returns a Checker that starts from cfg.
func NewChecker(cfg Config) *Checker {
	return &Checker{cfg: cfg, pairer: NewPairer(), actionsLogged: cfg.ActionsLogged, rechecked: map[uint32]bool{}}
}

// Model is the model the checker judges with.
func (c *Checker) Model() policy.Model { return c.cfg.Model }

// ActionsLogged is the policy as the checker follows it now.
func (c *Checker) ActionsLogged() policy.ActionSet { return c.actionsLogged }

// Add takes one decision, emission or audit drop and returns the pair it
// completes, judged, if any. A pair with neither decision nor emission (an
// audit loss outside any decision: another task's record, the kauditd
// queues) comes back with verdict "" for the caller to count.
func (c *Checker) Add(ev observer.Event) (Judged, bool) {
	p, ok := c.pairer.Add(ev)
	switch {
	case !ok:
		return Judged{}, false
	case p.Decision == nil && len(p.Emissions) == 0 && len(p.SeccompLogs) == 0:
		return Judged{Pair: p, Model: c.cfg.Model}, true
	}
	return c.judge(p), true
}

// AddWrite follows a write to actions_logged and returns it with the
// values before and after, for the Timeline to judge.
func (c *Checker) AddWrite(s *observer.SysctlWrite) *Write {
	w := &Write{SysctlWrite: s, Old: c.actionsLogged, New: c.actionsLogged}
	if set, ok := s.ValueAfter(c.actionsLogged); ok {
		w.New = set
	} else if c.cfg.ReadBack != nil {
		if set, err := c.cfg.ReadBack(); err == nil {
			w.New, w.NewFromSysctl = set, true
		}
	}
	if w.New != w.Old {
		c.lastChange = change{Time: s.Time, Tid: s.Tid, Old: w.Old, New: w.New}
	}
	c.actionsLogged = w.New
	return w
}

// Flush judges what is left: emissions whose decision never arrived.
func (c *Checker) Flush() []Judged {
	var out []Judged
	for _, p := range c.pairer.Flush() {
		out = append(out, Judged{Pair: p, Verdict: Inconclusive, Reason: "emission whose decision record never arrived", Model: c.cfg.Model})
	}
	return out
}

func (c *Checker) judge(p Pair) Judged {
	j := Judged{Pair: p, Model: c.cfg.Model, ActionsLogged: c.actionsLogged}
	d := p.Decision
	if d == nil {
		// audit_seccomp outside __seccomp_filter: strict mode (mode 1) kills with KILL_THREAD (§3).
		e := p.Emissions
		if len(e) == 1 && e[0].Signr == 9 && e[0].Code == policy.KillThread {
			j.Path = policy.PathStrict
			exp, reason := policy.Expect(policy.Decision{Action: policy.KillThread, Requested: true, Path: policy.PathStrict}, c.policy(c.actionsLogged), c.cfg.Model)
			return c.verdict(j, exp, string(reason), true)
		}
		j.Verdict, j.Reason = Inconclusive, "emission without a seccomp decision"
		return j
	}
	switch {
	case d.PolicyRace:
		j.Verdict, j.Reason = Inconclusive, "a write to actions_logged was in progress when the decision returned"
		return j
	case !c.lastChange.Time.IsZero() && c.lastChange.Tid != d.Tid && c.lastChange.Time.After(d.Time.Add(-RaceWindow)):
		j.Verdict = Inconclusive
		j.Reason = fmt.Sprintf("actions_logged changed (%s -> %s) %s before the decision returned: seccomp_log may have read either",
			c.lastChange.Old.AuditString(), c.lastChange.New.AuditString(), d.Time.Sub(c.lastChange.Time).Round(time.Microsecond))
		return j
	}
	if d.PolicyRead {
		j.ActionsLogged = policy.ActionSet(d.ActionsLogged)
	}
	if !d.Known {
		j.Verdict, j.Reason = Inconclusive, "action unknown: "+d.Unknown
		return j
	}
	action := policy.ActionOnly(d.Ret)
	// A re-check returns before its outer TRACE decision, in the same task.
	rechecked := c.rechecked[d.Tid]
	delete(c.rechecked, d.Tid)
	if d.Recheck {
		c.rechecked[d.Tid] = true
	}
	switch {
	case action == policy.Trace && d.Recheck:
		// The re-check returned TRACE again: `if (recheck_after_trace) return 0`, no log.
		j.Path = policy.PathTracerHandled
	case action == policy.Trace && rechecked:
		// The tracer let the syscall go on; the re-check decided (and logged) instead.
		j.Path = policy.PathTracerHandled
	case action == policy.UserNotif && !d.Skipped:
		j.Path = policy.PathNotifContinue
	case d.Strict:
		j.Path = policy.PathStrict
	}
	audited := d.AuditCtx && !d.AuditDummy
	if d.PolicyRead {
		audited = audited && d.AuditEnabled != 0
	} else {
		audited = audited && c.cfg.AuditEnabled
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
	j.Audited = audited
	exp, reason := policy.Expect(policy.Decision{Action: d.Ret, Requested: d.Requested(), Path: j.Path, Audited: audited}, c.policy(j.ActionsLogged), c.cfg.Model)
	return c.verdict(j, exp, string(reason), false)
}

func (c *Checker) policy(set policy.ActionSet) policy.Policy {
	return policy.Policy{ActionsLogged: set, NoUserNotif: c.cfg.NoUserNotif}
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

// Silenceable reports whether decisions like j may be counted instead of
// sent, once their result is known not to depend on the arguments: a
// decision the 4.18+ oracle calls silent on the plain filter path, for an
// action whose logging depends on nothing but actions_logged and the
// filter (ERRNO, TRAP, LOG, ALLOW; not the kills, nor TRACE and USER_NOTIF,
// whose paths depend on a tracer or a supervisor).
func Silenceable(j *Judged) bool {
	d := j.Decision
	if d == nil || j.Verdict != OKSilent || !d.Known || d.Strict || d.Exited || d.Recheck || d.PolicyRace ||
		j.Path != policy.PathFilter || j.Model != policy.ModelPost418 ||
		len(j.Emissions) > 0 || len(j.SeccompLogs) > 0 || len(j.Drops) > 0 {
		return false
	}
	switch policy.ActionOnly(d.Ret) {
	case policy.Errno, policy.Trap, policy.Log, policy.Allow:
		return true
	}
	return false
}
