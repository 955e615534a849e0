// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ActionSet is the kernel.seccomp.actions_logged bitmask
// (SECCOMP_LOG_*, docs/kernel-semantics.md §2).
type ActionSet uint32

// The actions_logged bits. They are the same in every kernel; USER_NOTIF
// exists from 5.0.
const (
	BitKillProcess ActionSet = 1 << 0
	BitKillThread  ActionSet = 1 << 1
	BitTrap        ActionSet = 1 << 2
	BitErrno       ActionSet = 1 << 3
	BitTrace       ActionSet = 1 << 4
	BitLog         ActionSet = 1 << 5
	BitAllow       ActionSet = 1 << 6
	BitUserNotif   ActionSet = 1 << 7
)

// DefaultLogged is the boot-time actions_logged of 5.0+: every action
// except allow.
const DefaultLogged = BitKillProcess | BitKillThread | BitTrap | BitErrno |
	BitUserNotif | BitTrace | BitLog

// DefaultLoggedPre50 is the boot-time actions_logged of 4.14-4.20, which
// have no user_notif.
const DefaultLoggedPre50 = DefaultLogged &^ BitUserNotif

// logNames is seccomp_log_names: the kernel's name table, in the order
// reads and audit records list the names (§5.4).
var logNames = []struct {
	bit  ActionSet
	name string
}{
	{BitKillProcess, "kill_process"},
	{BitKillThread, "kill_thread"},
	{BitTrap, "trap"},
	{BitErrno, "errno"},
	{BitUserNotif, "user_notif"},
	{BitTrace, "trace"},
	{BitLog, "log"},
	{BitAllow, "allow"},
}

// LogBit returns the actions_logged bit seccomp_log consults for the
// action of ret (§2). Unknown actions use the kill_process bit, as the
// default case of the kernel's switch does.
func LogBit(ret uint32) ActionSet {
	switch ActionOnly(ret) {
	case KillThread:
		return BitKillThread
	case Trap:
		return BitTrap
	case Errno:
		return BitErrno
	case UserNotif:
		return BitUserNotif
	case Trace:
		return BitTrace
	case Log:
		return BitLog
	case Allow:
		return BitAllow
	}
	return BitKillProcess
}

// Has reports whether every bit of b is in s.
func (s ActionSet) Has(b ActionSet) bool { return s&b == b }

// appendNames appends the names of the bits in s to dst, joined with sep,
// in table order; bits the kernel does not define are ignored, as the
// kernel ignores them.
func (s ActionSet) appendNames(dst []byte, sep byte) []byte {
	first := true
	for _, n := range logNames {
		if s&n.bit != 0 {
			if !first {
				dst = append(dst, sep)
			}
			dst, first = append(dst, n.name...), false
		}
	}
	return dst
}

// String returns s the way reading /proc/sys/kernel/seccomp/actions_logged
// shows it, without the trailing newline: names separated by one space in
// the kernel's table order (kill_process kill_thread trap errno user_notif
// trace log), and "" for the empty set (§5.4).
func (s ActionSet) String() string { return string(s.appendNames(nil, ' ')) }

// AuditString returns s the way the actions= and old-actions= fields of
// the CONFIG_CHANGE "op=seccomp-logging" record show it: names joined with
// "," in table order, or "(none)" for the empty set (§5.3). It does not
// allocate: a stream of decisions shows the set in force at each one.
func (s ActionSet) AuditString() string { return auditStrings[s&allBits] }

// AppendAuditString appends AuditString to dst.
func (s ActionSet) AppendAuditString(dst []byte) []byte { return append(dst, s.AuditString()...) }

// allBits are the bits the kernel defines; names ignore the others.
const allBits = BitKillProcess | BitKillThread | BitTrap | BitErrno | BitTrace | BitLog | BitAllow | BitUserNotif

// auditStrings holds AuditString of every set of defined bits.
var auditStrings = func() (t [allBits + 1]string) {
	for s := range t {
		n := ActionSet(s).appendNames(nil, ',')
		if len(n) == 0 {
			n = []byte("(none)")
		}
		t[s] = string(n)
	}
	return t
}()

// ActionsAvail returns the content of the actions_avail sysctl, without
// the newline; user_notif appears from 5.0 (§5.4).
func ActionsAvail(haveUserNotif bool) string {
	// seccomp_actions_avail lists the names in seccomp_log_names order.
	var parts []string
	for _, n := range logNames {
		if n.bit == BitUserNotif && !haveUserNotif {
			continue
		}
		parts = append(parts, n.name)
	}
	return strings.Join(parts, " ")
}

// Errors returned by the actions_logged parsers. The kernel answers both
// with EINVAL and leaves the sysctl unchanged.
var (
	// ErrUnknownAction: a name that is not in the kernel's table
	// (names are case-sensitive; user_notif is unknown before 5.0).
	ErrUnknownAction = errors.New("unknown action name")
	// ErrAllowNotLoggable: "allow" is a valid name but may not be set.
	ErrAllowNotLoggable = errors.New("allow cannot be logged")
)

// MaxWriteLen returns how many characters of a write the kernel keeps:
// sizeof(seccomp_actions_avail) - 1, which is 51 before 5.0 and 62 from 5.0
// (§5.4). The rest is dropped silently.
func MaxWriteLen(haveUserNotif bool) int {
	return len(ActionsAvail(haveUserNotif))
}

// effectiveWrite is what proc_dostring copies into the kernel buffer: the
// input up to the first '\n' or NUL, cut to MaxWriteLen characters.
func effectiveWrite(s string, haveUserNotif bool) string {
	if i := strings.IndexAny(s, "\n\x00"); i >= 0 {
		s = s[:i]
	}
	if n := MaxWriteLen(haveUserNotif); len(s) > n {
		s = s[:n]
	}
	return s
}

// ParseActionsLogged returns the mask the kernel would set for one
// write(2) of s at offset 0 to /proc/sys/kernel/seccomp/actions_logged,
// or an error where the kernel fails with EINVAL (§5.4):
//   - only the first 51 (pre-5.0) or 62 characters count, and copying
//     stops at '\n' or NUL, so an over-long list is cut, usually inside a
//     name, which then is unknown;
//   - names are split on single spaces (strsep) and parsing stops at the
//     first empty token: "" and "\n" give the empty set, "errno  trap"
//     gives errno only, " trap" gives the empty set, a trailing space is
//     harmless; a tab is part of a name and so unknown;
//   - duplicates are fine; an unknown name gives ErrUnknownAction and
//     "allow" gives ErrAllowNotLoggable.
//
// A zero-length write, and a second write on the same open file, also set
// the empty set; ParseActionsLogged("") models both.
func ParseActionsLogged(s string, haveUserNotif bool) (ActionSet, error) {
	rest := effectiveWrite(s, haveUserNotif)
	var set ActionSet
	for {
		name, tail, found := strings.Cut(rest, " ")
		if name == "" {
			break
		}
		bit, ok := lookupName(name, haveUserNotif)
		if !ok {
			return 0, fmt.Errorf("parse actions_logged %q: %w", name, ErrUnknownAction)
		}
		set |= bit
		if !found {
			break
		}
		rest = tail
	}
	// The allow check comes after the whole list parsed (write_actions_logged).
	if set&BitAllow != 0 {
		return 0, fmt.Errorf("parse actions_logged: %w", ErrAllowNotLoggable)
	}
	return set, nil
}

// ParseActionsLoggedRead parses what a read of actions_logged returns. It
// is lenient: surrounding whitespace and the trailing newline are ignored
// and names may be separated by any whitespace. Every name of the kernel's
// table is accepted, allow and user_notif included.
func ParseActionsLoggedRead(s string) (ActionSet, error) {
	var set ActionSet
	for _, name := range strings.Fields(s) {
		bit, ok := lookupName(name, true)
		if !ok {
			return 0, fmt.Errorf("parse actions_logged %q: %w", name, ErrUnknownAction)
		}
		set |= bit
	}
	return set, nil
}

func lookupName(name string, haveUserNotif bool) (ActionSet, bool) {
	for _, n := range logNames {
		if n.name == name {
			if n.bit == BitUserNotif && !haveUserNotif {
				return 0, false
			}
			return n.bit, true
		}
	}
	return 0, false
}
