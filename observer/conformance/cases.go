// SPDX-License-Identifier: Apache-2.0

// Package conformance is a built-in matrix of seccomp logging cases: each
// case runs in its own forked child, is observed by the probes, judged by
// the oracle and followed to its audit record. It returns results and never
// logs; the CLI formats them (text, JSON, KTAP).
package conformance

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
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
	Strict         Variant = "strict"          // mode 1 kills a syscall not on its list
	StrictAllowed  Variant = "strict-allowed"  // mode 1 lets a listed syscall run: no decision, no log
)

// Kernel is what a kernel can run, found by probing, not from its version.
type Kernel struct {
	// Avail is actions_avail.
	Avail policy.ActionSet
	// NoCompat says why int $0x80 syscalls are not available ("" when they are).
	NoCompat string
}

// ProbeKernel probes this kernel.
func ProbeKernel() Kernel {
	avail, _ := observer.ActionsAvail() // unreadable: every action case is skipped with the reason
	k := Kernel{Avail: avail}
	if err := workload.CompatSyscalls(); err != nil {
		k.NoCompat = err.Error()
	}
	return k
}

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

	nr       int32  // the syscall the child makes
	arch     uint32 // and its AUDIT_ARCH_*
	scenario workload.Scenario
	// The helper's end (scenario.Exec): killed by exitSignal, else exitStatus.
	exitSignal syscall.Signal
	exitStatus int
}

// killed: the call ends the whole process with SIGSYS.
func (c *Case) killed() bool { return policy.ActionOnly(c.Action) == policy.KillProcess }

// exec: the case runs in the bare helper program (strict mode, int $0x80).
func (c *Case) exec() bool { return c.scenario.Exec != nil }

// Path is how the oracle must see the case's decision.
func (c *Case) Path() policy.Path {
	switch c.Variant {
	case TracerContinue:
		return policy.PathTracerHandled
	case NotifContinue:
		return policy.PathNotifContinue
	case Strict:
		return policy.PathStrict
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
// (default, none, the action's own bit removed) × audit state, stacked
// filters, int $0x80 syscalls and strict mode. What k lacks gives skipped
// cases, with the reason.
func Cases(k Kernel) []Case {
	haveNotif := k.Avail.Has(policy.BitUserNotif)
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
					c := Case{Action: ac.action, Variant: ac.variant, FlagLog: flag, Logged: s.name, Set: s.set, Audit: audit, nr: unix.SYS_GETPPID, arch: sysnames.Native}
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
		out = append(out, compatCases(def, audit, k.NoCompat)...)
		out = append(out, strictCases(def, audit, k.NoCompat)...)
	}
	return out
}

// compatCases: compat syscalls (x86_64: int $0x80, arch I386, ia32 numbers;
// arm64: an AArch32 program, arch ARM) under a filter that matches that
// arch; the same rules apply (§2, §9).
func compatCases(def policy.ActionSet, audit AuditState, noCompat string) []Case {
	var out []Case
	for _, ac := range []struct {
		name   string // its actions_logged name
		action uint32
		status int
		sig    syscall.Signal
	}{
		{"errno", policy.Errno | 5, int(unix.EIO), 0},
		{"log", policy.Log, 0, 0},
		{"kill_process", policy.KillProcess, 0, syscall.SIGSYS},
	} {
		name := policy.ActionName(ac.action)
		bit := policy.LogBit(ac.action)
		for _, s := range []struct {
			name string
			set  policy.ActionSet
		}{{"default", def}, {"without-" + ac.name, def &^ bit}} {
			for _, flag := range []bool{false, true} {
				c := Case{
					Name:   fmt.Sprintf("compat/%s: %s flag_log=%s actions_logged=%s audit=%s", workload.CompatLabel, name, onOff(flag), s.name, audit),
					Action: ac.action, FlagLog: flag, Logged: s.name, Set: s.set, Audit: audit,
					nr: workload.NR32Getppid, arch: sysnames.Compat, exitSignal: ac.sig, exitStatus: ac.status,
					Skip: noCompatReason(noCompat),
				}
				c.scenario = workload.Scenario{
					Filters: []workload.FilterSpec{{Compat: true, Log: flag, Rules: []workload.Rule{{Nr: c.nr, Action: c.Action}}}},
					Exec:    &workload.ExecSpec{Calls: []workload.RawCall{{Compat: true, Nr: c.nr, Count: 1}}},
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// strictCases: mode 1 kills any syscall but read, write, _exit and
// sigreturn (the ia32 or arm list for compat calls) and logs it as KILL_THREAD with
// requested=true, so only the kill_thread bit decides (§3).
func strictCases(def policy.ActionSet, audit AuditState, noCompat string) []Case {
	var out []Case
	calls := []struct {
		name   string
		compat bool
		kill   int32 // a syscall mode 1 kills
		allow  int32 // one it lets through (write(-1): EBADF)
	}{
		{"native", false, unix.SYS_GETPPID, unix.SYS_WRITE},
		{"compat/" + workload.CompatLabel, true, workload.NR32Getppid, workload.NR32Write},
	}
	for _, call := range calls {
		arch, skip := sysnames.Native, ""
		if call.compat {
			arch, skip = sysnames.Compat, noCompatReason(noCompat)
		}
		for _, s := range []struct {
			name string
			set  policy.ActionSet
		}{{"default", def}, {"without-kill_thread", def &^ policy.BitKillThread}, {"none", 0}} {
			c := Case{
				Name:   fmt.Sprintf("strict: %s getppid actions_logged=%s audit=%s", call.name, s.name, audit),
				Action: policy.KillThread, Variant: Strict, Logged: s.name, Set: s.set, Audit: audit,
				nr: call.kill, arch: arch, exitSignal: syscall.SIGKILL, Skip: skip,
			}
			c.scenario = workload.Scenario{Exec: &workload.ExecSpec{Strict: true, Calls: []workload.RawCall{{Compat: call.compat, Nr: call.kill, Count: 1}}}}
			out = append(out, c)
		}
		c := Case{
			Name:   fmt.Sprintf("strict: %s write is allowed and never logged audit=%s", call.name, audit),
			Action: policy.Allow, Variant: StrictAllowed, Logged: "default", Set: def, Audit: audit,
			nr: call.allow, arch: arch, exitStatus: int(unix.EBADF), Skip: skip,
		}
		c.scenario = workload.Scenario{Exec: &workload.ExecSpec{Strict: true, Calls: []workload.RawCall{{Compat: call.compat, Nr: call.allow, Args: [6]uint32{0xffffffff}, Count: 1}}}}
		out = append(out, c)
	}
	return out
}

func noCompatReason(noCompat string) string {
	if noCompat == "" {
		return ""
	}
	return "no " + workload.CompatWhat + ": " + noCompat
}

// stackedCases check precedence and whose FLAG_LOG counts (§4).
func stackedCases(def policy.ActionSet, audit AuditState) []Case {
	mk := func(name string, filters []workload.FilterSpec, action uint32, flag bool) Case {
		c := Case{Name: fmt.Sprintf("stacked: %s audit=%s", name, audit), Action: action, FlagLog: flag, Logged: "default", Set: def, Audit: audit, nr: unix.SYS_GETPPID, arch: sysnames.Native}
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
