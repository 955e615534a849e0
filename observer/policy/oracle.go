// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"fmt"
	"strings"
)

// Model selects which seccomp_log() the kernel has (docs/kernel-semantics.md §1, §2).
type Model int

const (
	// ModelPost418 is seccomp_log() from 4.18 on: a record is attempted
	// only if the policy says so; audit state plays no part.
	ModelPost418 Model = iota
	// ModelPre418 is seccomp_log() of 4.14-4.17: as ModelPost418, but an
	// "audited" task (Decision.Audited) also gets a record for every
	// action that reaches seccomp_log. These kernels have no USER_NOTIF.
	ModelPre418
)

// String returns "4.18+" or "4.14-4.17".
func (m Model) String() string {
	switch m {
	case ModelPost418:
		return "4.18+"
	case ModelPre418:
		return "4.14-4.17"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// ParseModel parses the names String returns; "post418" and "pre418" are
// accepted as aliases.
func ParseModel(s string) (Model, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "4.18+", "post418":
		return ModelPost418, nil
	case "4.14-4.17", "pre418":
		return ModelPre418, nil
	}
	return 0, fmt.Errorf("parse model %q: want 4.18+ or 4.14-4.17", s)
}

// ModelForKernel returns the model of kernel version major.minor. Kernels
// before 4.14 have no seccomp logging policy and give an error.
func ModelForKernel(major, minor int) (Model, error) {
	switch {
	case major < 4 || major == 4 && minor < 14:
		return 0, fmt.Errorf("select model for kernel %d.%d: seccomp logging starts in 4.14", major, minor)
	case major == 4 && minor < 18:
		return ModelPre418, nil
	}
	return ModelPost418, nil
}

// HasUserNotif reports whether kernel major.minor knows SECCOMP_RET_USER_NOTIF
// (added in 5.0, §1). Set Policy.NoUserNotif when it does not.
func HasUserNotif(major, minor int) bool { return major >= 5 }

// Path says how a seccomp decision ended, which decides whether
// seccomp_log() was called at all (docs/kernel-semantics.md §3).
type Path int

const (
	// PathFilter: the filters (or the re-check after a tracer) produced
	// Decision.Action and __seccomp_filter reached a seccomp_log call
	// site: LOG; KILL_THREAD, KILL_PROCESS or an unknown action; or the
	// skip label for ERRNO, TRAP, TRACE with no tracer (or a pending fatal
	// signal, or a tracer setting nr < 0) and USER_NOTIF without CONTINUE.
	// An evaluated ALLOW also uses this path; it never logs. This is the
	// zero value.
	PathFilter Path = iota
	// PathStrict: a mode-1 (strict) violation; seccomp_log gets
	// KILL_THREAD with requested = true, whatever Decision says.
	PathStrict
	// PathTracerHandled: TRACE with a tracer, and the re-check gave TRACE
	// again: no seccomp_log. (A re-check giving another action is a new
	// PathFilter decision with the re-check's action and match.)
	PathTracerHandled
	// PathNotifContinue: USER_NOTIF answered with
	// SECCOMP_USER_NOTIF_FLAG_CONTINUE: no seccomp_log, even with FLAG_LOG.
	PathNotifContinue
	// PathCachedAllow: the 5.11+ action cache allowed the syscall without
	// running the filters.
	PathCachedAllow
	// PathDead: the task is in SECCOMP_MODE_DEAD (killed already).
	PathDead
	// PathSuspended: PTRACE_O_SUSPEND_SECCOMP is in effect.
	PathSuspended
)

var pathNames = [...]string{
	PathFilter:        "filter",
	PathStrict:        "strict",
	PathTracerHandled: "tracer-handled",
	PathNotifContinue: "notif-continue",
	PathCachedAllow:   "cached-allow",
	PathDead:          "dead",
	PathSuspended:     "suspended",
}

// String returns a short lowercase name such as "tracer-handled".
func (p Path) String() string {
	if p >= 0 && int(p) < len(pathNames) {
		return pathNames[p]
	}
	return fmt.Sprintf("Path(%d)", int(p))
}

// Decision describes one seccomp decision as the observer saw it.
type Decision struct {
	// Action is the winning filter's full return value, data included.
	Action uint32
	// Requested is the log flag (SECCOMP_FILTER_FLAG_LOG) of the filter
	// that produced Action, false when no filter matched (§3, §4).
	Requested bool
	// Path is how the decision ended.
	Path Path
	// Audited is the pre-4.18 "U" condition: audit_enabled &&
	// current->audit_context && !audit_context->dummy (§2, §7). Ignored by
	// ModelPost418.
	Audited bool
}

// Policy is the kernel's logging policy at the time of the decision.
type Policy struct {
	// ActionsLogged is kernel.seccomp.actions_logged.
	ActionsLogged ActionSet
	// NoUserNotif marks a kernel before 5.0, where 0x7fc00000 is an
	// unknown action: it takes the kill path and is logged under
	// kill_process (§3). ModelPre418 implies it.
	NoUserNotif bool
}

// Reason explains a verdict of Expect.
type Reason string

// Reasons a record is expected.
const (
	// ReasonRequestedAndLogged: TRAP, ERRNO, TRACE or USER_NOTIF from a
	// filter with FLAG_LOG, and the action's bit is in actions_logged.
	ReasonRequestedAndLogged Reason = "requested-and-logged"
	// ReasonLogActionLogged: SECCOMP_RET_LOG with the log bit set; the
	// filter's flag does not matter.
	ReasonLogActionLogged Reason = "log-action-logged"
	// ReasonKillLogged: KILL_THREAD or KILL_PROCESS (or a strict-mode
	// kill) with its bit set.
	ReasonKillLogged Reason = "kill-logged"
	// ReasonUnknownActionLogged: an unknown action, logged under the
	// kill_process bit.
	ReasonUnknownActionLogged Reason = "unknown-action-logged"
	// ReasonAuditedTaskPre418: the policy says no, but a 4.14-4.17 kernel
	// still emits the record because the task is audited.
	ReasonAuditedTaskPre418 Reason = "audited-task-pre-4.18"
)

// Reasons no record is expected.
const (
	// ReasonFlagLogOff: TRAP, ERRNO, TRACE or USER_NOTIF from a filter
	// without FLAG_LOG (or with no matching filter). Reported in
	// preference to ReasonNotInActionsLogged when both hold, because the
	// kernel tests requested first.
	ReasonFlagLogOff Reason = "flag-log-off"
	// ReasonNotInActionsLogged: the action's bit is clear in actions_logged.
	ReasonNotInActionsLogged Reason = "action-not-in-actions_logged"
	// ReasonAllowNeverLogs: SECCOMP_RET_ALLOW has no seccomp_log call site.
	ReasonAllowNeverLogs Reason = "allow-never-logs"
	// ReasonTracerHandled: see PathTracerHandled.
	ReasonTracerHandled Reason = "tracer-handled"
	// ReasonNotifContinue: see PathNotifContinue.
	ReasonNotifContinue Reason = "notif-continue"
	// ReasonCachedAllow: see PathCachedAllow.
	ReasonCachedAllow Reason = "cached-allow"
	// ReasonSeccompDead: see PathDead.
	ReasonSeccompDead Reason = "seccomp-dead"
	// ReasonSeccompSuspended: see PathSuspended.
	ReasonSeccompSuspended Reason = "seccomp-suspended"
	// ReasonInvalid: Expect got a Path or Model it does not know.
	ReasonInvalid Reason = "invalid-input"
)

// Expect reports whether the kernel attempts an AUDIT_SECCOMP record for
// d, i.e. calls audit_seccomp (4.18+) or __audit_seccomp (4.14-4.17),
// under policy p and model m, with the reason (docs/kernel-semantics.md §2):
//
//	ALLOW                        -> never
//	TRAP/ERRNO/TRACE/USER_NOTIF  -> requested && bit
//	LOG                          -> bit(log)
//	KILL_THREAD                  -> bit(kill_thread)
//	KILL_PROCESS and unknown     -> bit(kill_process)
//
// ModelPre418 additionally logs whenever d.Audited. Paths other than
// PathFilter and PathStrict never log, not even for an audited task.
// "Attempted" is all this promises: §6 lists where a record still vanishes.
func Expect(d Decision, p Policy, m Model) (logged bool, reason Reason) {
	if m != ModelPost418 && m != ModelPre418 {
		return false, ReasonInvalid
	}
	switch d.Path {
	case PathFilter:
	case PathStrict:
		// __secure_computing_strict: seccomp_log(nr, SIGKILL, KILL_THREAD, true).
		d.Action, d.Requested = KillThread, true
	case PathTracerHandled:
		return false, ReasonTracerHandled
	case PathNotifContinue:
		return false, ReasonNotifContinue
	case PathCachedAllow:
		return false, ReasonCachedAllow
	case PathDead:
		return false, ReasonSeccompDead
	case PathSuspended:
		return false, ReasonSeccompSuspended
	default:
		return false, ReasonInvalid
	}

	action := ActionOnly(d.Action)
	if action == Allow {
		return false, ReasonAllowNeverLogs
	}
	// Before 5.0 USER_NOTIF is not in the switch and lands in default.
	noNotif := p.NoUserNotif || m == ModelPre418
	if action == UserNotif && noNotif {
		action = unknownAction
	}

	logged, reason = policyLog(action, d.Requested, p.ActionsLogged)
	if !logged && m == ModelPre418 && d.Audited {
		// Pre-patch tail: audit_seccomp() wrapper logs for audited tasks.
		return true, ReasonAuditedTaskPre418
	}
	return logged, reason
}

// unknownAction stands for any action outside the kernel's switch.
const unknownAction uint32 = 0x00010000

// policyLog is the per-action `log` computation of seccomp_log (§2).
func policyLog(action uint32, requested bool, set ActionSet) (bool, Reason) {
	bit := LogBit(action)
	switch action {
	case Trap, Errno, Trace, UserNotif:
		if !requested {
			return false, ReasonFlagLogOff
		}
		if set&bit == 0 {
			return false, ReasonNotInActionsLogged
		}
		return true, ReasonRequestedAndLogged
	}
	if set&bit == 0 {
		return false, ReasonNotInActionsLogged
	}
	switch action {
	case Log:
		return true, ReasonLogActionLogged
	case KillThread, KillProcess:
		return true, ReasonKillLogged
	}
	return true, ReasonUnknownActionLogged
}
