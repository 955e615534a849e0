// SPDX-License-Identifier: Apache-2.0

// Package conformance is a built-in matrix of seccomp logging cases: each
// case runs in its own forked child, is observed by the probes, judged by
// the oracle and followed to its audit record. It returns results and never
// logs; the CLI formats them (text, JSON, KTAP).
package conformance

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// AuditState is the audit configuration a case runs under.
type AuditState int

// Audit states: disabled; enabled with no rules; enabled with one syscall
// rule, which makes every task "audited" in the pre-4.18 sense (§7).
const (
	AuditOff AuditState = iota
	AuditOn
	AuditOnRule
)

func (a AuditState) String() string {
	return [...]string{"off", "on", "on+rule"}[a]
}

// Variant is how a decision ends beyond its action (§3).
type Variant string

// Variants of the TRACE and USER_NOTIF paths.
const (
	Plain          Variant = ""
	TracerContinue Variant = "tracer-continue" // TRACE handled by a tracer: re-check, no log
	TracerSkip     Variant = "tracer-skip"     // tracer sets nr=-1: skip, logged with syscall=-1
	NotifContinue  Variant = "notif-continue"  // supervisor answers CONTINUE: no log
	NotifReply     Variant = "notif-reply"     // supervisor answers -EPERM: skip, logged
)

// Case is one child: a filter, one call, the policy it runs under.
type Case struct {
	Name    string
	Action  uint32 // full SECCOMP_RET_* value, data included
	Variant Variant
	FlagLog bool
	// Logged names the actions_logged setting: "default", "none" or "without-<action>".
	Logged string
	Set    policy.ActionSet
	Audit  AuditState
	// Skip is why this kernel cannot run the case (decided by probing).
	Skip string

	nr       int32 // the syscall the child makes
	scenario workload.Scenario
}

// killed: the call ends the whole process with SIGSYS.
func (c *Case) killed() bool { return policy.ActionOnly(c.Action) == policy.KillProcess }

// Path is how the oracle must see the case's decision.
func (c *Case) Path() policy.Path {
	switch c.Variant {
	case TracerContinue:
		return policy.PathTracerHandled
	case NotifContinue:
		return policy.PathNotifContinue
	}
	return policy.PathFilter
}

type actionCase struct {
	name    string
	action  uint32
	variant Variant
	notif   bool // needs USER_NOTIF (5.0+)
}

var actionCases = []actionCase{
	{"kill_process", policy.KillProcess, Plain, false},
	{"kill_thread", policy.KillThread, Plain, false},
	{"trap", policy.Trap, Plain, false},
	{"errno", policy.Errno | 5, Plain, false},
	{"user_notif", policy.UserNotif, Plain, true}, // no listener: -ENOSYS, skip
	{"user_notif", policy.UserNotif, NotifContinue, true},
	{"user_notif", policy.UserNotif, NotifReply, true},
	{"trace", policy.Trace, Plain, false}, // no tracer: -ENOSYS, skip
	{"trace", policy.Trace, TracerContinue, false},
	{"trace", policy.Trace, TracerSkip, false},
	{"log", policy.Log, Plain, false},
	{"allow", policy.Allow | 7, Plain, false}, // data keeps it out of the action cache
}

// Cases builds the matrix: every action (and path) × FLAG_LOG × actions_logged
// (default, none, the action's own bit removed) × audit state. avail is
// actions_avail; actions it lacks give skipped cases.
func Cases(avail policy.ActionSet) []Case {
	haveNotif := avail.Has(policy.BitUserNotif)
	def := policy.DefaultLogged
	if !haveNotif {
		def &^= policy.BitUserNotif
	}
	var out []Case
	for _, audit := range []AuditState{AuditOff, AuditOn, AuditOnRule} {
		for _, ac := range actionCases {
			bit := policy.LogBit(ac.action)
			settings := []struct {
				name string
				set  policy.ActionSet
			}{{"default", def}, {"none", 0}}
			if ac.action != policy.Allow|7 {
				settings = append(settings, struct {
					name string
					set  policy.ActionSet
				}{"without-" + ac.name, def &^ bit})
			}
			for _, s := range settings {
				for _, flag := range []bool{false, true} {
					c := Case{Action: ac.action, Variant: ac.variant, FlagLog: flag, Logged: s.name, Set: s.set, Audit: audit, nr: unix.SYS_GETPPID}
					name := policy.ActionName(ac.action)
					if ac.variant != Plain {
						name += "/" + string(ac.variant)
					}
					c.Name = fmt.Sprintf("%s flag_log=%s actions_logged=%s audit=%s", name, onOff(flag), s.name, audit)
					if ac.notif && !haveNotif {
						c.Skip = "user_notif not in actions_avail (kernel before 5.0)"
					}
					c.build()
					out = append(out, c)
				}
			}
		}
		out = append(out, stackedCases(def, audit)...)
	}
	return out
}

// stackedCases check precedence and whose FLAG_LOG counts (§4).
func stackedCases(def policy.ActionSet, audit AuditState) []Case {
	mk := func(name string, filters []workload.FilterSpec, action uint32, flag bool) Case {
		c := Case{Name: fmt.Sprintf("stacked: %s audit=%s", name, audit), Action: action, FlagLog: flag, Logged: "default", Set: def, Audit: audit, nr: unix.SYS_GETPPID}
		c.scenario = workload.Scenario{Filters: filters, Calls: []workload.Call{{Nr: c.nr, Count: 1}}}
		return c
	}
	rule := func(action uint32, log bool) workload.FilterSpec {
		return workload.FilterSpec{Log: log, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: action}}}
	}
	return []Case{
		// Ties go to the newest filter: its FLAG_LOG decides.
		mk("errno tie, only the older filter has FLAG_LOG", []workload.FilterSpec{rule(policy.Errno|1, true), rule(policy.Errno|2, false)}, policy.Errno|2, false),
		mk("errno tie, only the newer filter has FLAG_LOG", []workload.FilterSpec{rule(policy.Errno|1, false), rule(policy.Errno|2, true)}, policy.Errno|2, true),
		// TRAP beats ERRNO wherever it is; the ERRNO filter's FLAG_LOG does not count.
		mk("older trap without FLAG_LOG beats newer errno with it", []workload.FilterSpec{rule(policy.Trap, false), rule(policy.Errno|1, true)}, policy.Trap, false),
		mk("kill_process beats log", []workload.FilterSpec{rule(policy.Log, false), rule(policy.KillProcess, false)}, policy.KillProcess, false),
	}
}

func (c *Case) build() {
	act := policy.ActionOnly(c.Action)
	call := workload.Call{Nr: c.nr, Count: 1, Thread: act == policy.KillThread}
	s := workload.Scenario{Calls: []workload.Call{call}}
	switch c.Variant {
	case NotifContinue, NotifReply, Plain:
		if act == policy.UserNotif && c.Variant != Plain {
			s.Notif = &workload.NotifSpec{Nr: c.nr, Log: c.FlagLog, Continue: c.Variant == NotifContinue, Errno: int(unix.EPERM)}
			break
		}
		s.Filters = []workload.FilterSpec{{Log: c.FlagLog, Rules: []workload.Rule{{Nr: c.nr, Action: c.Action}}}}
	case TracerContinue, TracerSkip:
		s.Filters = []workload.FilterSpec{{Log: c.FlagLog, Rules: []workload.Rule{{Nr: c.nr, Action: c.Action}}}}
		s.Trace = &workload.TraceSpec{SkipSyscall: c.Variant == TracerSkip}
	}
	c.scenario = s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
