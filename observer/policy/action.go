// SPDX-License-Identifier: Apache-2.0

// Package policy is the logging oracle: given how a seccomp decision ended
// and the kernel's logging policy, it says whether the kernel must have
// attempted an AUDIT_SECCOMP record (docs/kernel-semantics.md §2, §3). It also
// models the kernel.seccomp.actions_logged sysctl (§5.3, §5.4).
package policy

import "strconv"

// Seccomp filter return actions (SECCOMP_RET_*). A filter's 32-bit return
// value is an action in the top 16 bits and data in the low 16 bits.
const (
	KillProcess uint32 = 0x80000000
	KillThread  uint32 = 0x00000000
	Trap        uint32 = 0x00030000
	Errno       uint32 = 0x00050000
	UserNotif   uint32 = 0x7fc00000
	Trace       uint32 = 0x7ff00000
	Log         uint32 = 0x7ffc0000
	Allow       uint32 = 0x7fff0000
)

// Masks splitting a return value (SECCOMP_RET_ACTION_FULL, SECCOMP_RET_DATA).
const (
	ActionMask uint32 = 0xffff0000
	DataMask   uint32 = 0x0000ffff
)

// ActionOnly strips the data bits from a filter return value, like the
// kernel's ACTION_ONLY without the int32 conversion.
func ActionOnly(ret uint32) uint32 { return ret & ActionMask }

// Precedence returns the value seccomp_run_filters compares to pick the
// winning filter: the action as a signed 32-bit integer, lowest wins
// (docs/kernel-semantics.md §4).
func Precedence(ret uint32) int32 { return int32(ret & ActionMask) }

// IsKnown reports whether the action of ret is one the kernel's switch in
// __seccomp_filter names. Everything else takes the kill path and is
// logged under kill_process (§3). USER_NOTIF counts as known here; on
// kernels before 5.0 it is not (see Policy.NoUserNotif).
func IsKnown(ret uint32) bool {
	switch ActionOnly(ret) {
	case KillProcess, KillThread, Trap, Errno, UserNotif, Trace, Log, Allow:
		return true
	}
	return false
}

// ActionName names the action of a filter return value with the sysctl
// names: "kill_process", "kill_thread", "trap", "errno(N)", "user_notif",
// "trace", "log", "allow". ERRNO always shows its data (the errno value);
// TRAP, TRACE and USER_NOTIF show it as "(N)" only when it is nonzero.
// KILL_*, LOG and ALLOW ignore data. Other actions give "unknown(0x…)"
// with the action in hex, as the audit record's code= field prints it.
func ActionName(ret uint32) string {
	switch ActionOnly(ret) {
	case Trap, Errno, UserNotif, Trace:
		if ret&DataMask != 0 || ActionOnly(ret) == Errno {
			return string(AppendActionName(nil, ret))
		}
	}
	return CodeName(ret)
}

// AppendActionName appends ActionName(ret) to dst, without allocating
// beyond dst's growth: for a stream that names every decision.
func AppendActionName(dst []byte, ret uint32) []byte {
	data := ret & DataMask
	withData := func(dst []byte, name string, always bool) []byte {
		dst = append(dst, name...)
		if data == 0 && !always {
			return dst
		}
		dst = append(dst, '(')
		dst = strconv.AppendUint(dst, uint64(data), 10)
		return append(dst, ')')
	}
	switch ActionOnly(ret) {
	case Trap:
		return withData(dst, "trap", false)
	case Errno:
		return withData(dst, "errno", true)
	case UserNotif:
		return withData(dst, "user_notif", false)
	case Trace:
		return withData(dst, "trace", false)
	}
	return append(dst, CodeName(ret)...)
}

// CodeName names the action of ret without its data, as an audit record's
// code= value is read: "errno", "log", "unknown(0x10000)". Known actions
// give constant strings.
func CodeName(ret uint32) string {
	switch ActionOnly(ret) {
	case KillProcess:
		return "kill_process"
	case KillThread:
		return "kill_thread"
	case Trap:
		return "trap"
	case Errno:
		return "errno"
	case UserNotif:
		return "user_notif"
	case Trace:
		return "trace"
	case Log:
		return "log"
	case Allow:
		return "allow"
	}
	return "unknown(0x" + strconv.FormatUint(uint64(ActionOnly(ret)), 16) + ")"
}
