// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"fmt"
	"os"
	"strings"
)

// Netlink message types and constants of include/uapi/linux/audit.h.
const (
	auditAddRule = 1011 // AUDIT_ADD_RULE
	auditDelRule = 1012 // AUDIT_DEL_RULE

	auditBitmaskLen = 64 // AUDIT_BITMASK_SIZE
	auditMaxFields  = 64 // AUDIT_MAX_FIELDS
)

// SyscallRule is "-a always,exit -F arch=ARCH -S NR": an exit rule that
// makes every task "audited" in the pre-4.18 sense (docs/kernel-semantics.md §7:
// any syscall rule counts in audit_n_rules).
func SyscallRule(arch uint32, nr int) Rule {
	r := Rule{List: ListExit, Action: ActionAlways, Fields: []RuleField{{Type: FieldArch, Op: OpEqual, Value: arch}}}
	r.Mask[nr/32] |= 1 << (nr % 32)
	return r
}

// AddSyscallRule adds SyscallRule(arch, nr) (needs CAP_AUDIT_CONTROL).
func AddSyscallRule(arch uint32, nr int) error {
	if err := checkSyscall(nr); err != nil {
		return fmt.Errorf("adding audit rule: %w", err)
	}
	return AddRule(SyscallRule(arch, nr))
}

// DeleteSyscallRule deletes the rule AddSyscallRule added.
func DeleteSyscallRule(arch uint32, nr int) error {
	if err := checkSyscall(nr); err != nil {
		return fmt.Errorf("deleting audit rule: %w", err)
	}
	return DeleteRule(SyscallRule(arch, nr))
}

func checkSyscall(nr int) error {
	if nr < 0 || nr >= 32*auditBitmaskLen {
		return fmt.Errorf("syscall %d out of range", nr)
	}
	return nil
}

// ExcludeMsgTypeRule is "-a never,exclude -F msgtype=TYPE": the exclude
// rule that drops every record of one type (docs/kernel-semantics.md §6, step 2).
func ExcludeMsgTypeRule(msgType uint16) Rule {
	return Rule{List: ListExclude, Action: ActionNever, Fields: []RuleField{{Type: FieldMsgType, Op: OpEqual, Value: uint32(msgType)}}}
}

// AddRule adds r to the kernel's rules (auditctl -a; needs CAP_AUDIT_CONTROL).
func AddRule(r Rule) error { return changeRule(auditAddRule, "adding", r) }

// DeleteRule deletes the rule equal to r (auditctl -d).
func DeleteRule(r Rule) error { return changeRule(auditDelRule, "deleting", r) }

// AddExcludeRule adds "-a never,exclude -F msgtype=TYPE".
func AddExcludeRule(msgType uint16) error { return AddRule(ExcludeMsgTypeRule(msgType)) }

// DeleteExcludeRule deletes the rule AddExcludeRule added.
func DeleteExcludeRule(msgType uint16) error { return DeleteRule(ExcludeMsgTypeRule(msgType)) }

func changeRule(typ uint16, verb string, r Rule) error {
	if len(r.Fields) > auditMaxFields {
		return fmt.Errorf("%s audit rule %q: %d fields, at most %d", verb, r, len(r.Fields), auditMaxFields)
	}
	if _, _, err := request(typ, r.Encode(), 0); err != nil {
		return fmt.Errorf("%s audit rule %q: %w", verb, r, err)
	}
	return nil
}

// DisabledAtBoot reports whether the kernel was booted with audit=0 (or
// audit=off), and the parameter as given: audit_log_start then refuses
// every record for the life of the kernel, without counting it lost, and
// no NETLINK_AUDIT socket exists (docs/kernel-semantics.md §6, step 1). The last
// audit= on the command line wins, as the kernel parses them in order.
func DisabledAtBoot() (bool, string) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return false, ""
	}
	return disabledAtBoot(string(b))
}

func disabledAtBoot(cmdline string) (bool, string) {
	val, found := "", false
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "audit="); ok {
			val, found = v, true
		}
	}
	if !found {
		return false, ""
	}
	return val == "0" || strings.EqualFold(val, "off"), "audit=" + val
}
