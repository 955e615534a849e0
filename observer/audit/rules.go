// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Netlink message types and constants of include/uapi/linux/audit.h.
const (
	auditAddRule = 1011 // AUDIT_ADD_RULE
	auditDelRule = 1012 // AUDIT_DEL_RULE

	auditFilterExit = 0x04       // AUDIT_FILTER_EXIT
	auditAlways     = 2          // AUDIT_ALWAYS
	auditArchField  = 11         // AUDIT_ARCH
	auditEqual      = 0x40000000 // AUDIT_EQUAL
	auditBitmaskLen = 64         // AUDIT_BITMASK_SIZE
	auditMaxFields  = 64         // AUDIT_MAX_FIELDS
)

// syscallRule encodes struct audit_rule_data for
// "-a always,exit -F arch=ARCH -S NR": an exit rule that makes every task
// "audited" in the pre-4.18 sense (kernel-semantics §7: any syscall rule
// counts in audit_n_rules).
func syscallRule(arch uint32, nr int) []byte {
	// flags, action, field_count, mask[64], fields[64], values[64], fieldflags[64], buflen
	words := make([]uint32, 3+auditBitmaskLen+3*auditMaxFields+1)
	words[0], words[1], words[2] = auditFilterExit, auditAlways, 1
	words[3+nr/32] |= 1 << (nr % 32)
	fields := 3 + auditBitmaskLen
	words[fields] = auditArchField
	words[fields+auditMaxFields] = arch
	words[fields+2*auditMaxFields] = auditEqual
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.NativeEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// AddSyscallRule adds "-a always,exit -F arch=ARCH -S NR" (needs CAP_AUDIT_CONTROL).
func AddSyscallRule(arch uint32, nr int) error {
	return ruleRequest(auditAddRule, "adding", arch, nr)
}

// DeleteSyscallRule deletes the rule AddSyscallRule added.
func DeleteSyscallRule(arch uint32, nr int) error {
	return ruleRequest(auditDelRule, "deleting", arch, nr)
}

func ruleRequest(typ uint16, verb string, arch uint32, nr int) error {
	if nr < 0 || nr >= 32*auditBitmaskLen {
		return fmt.Errorf("%s audit rule: syscall %d out of range", verb, nr)
	}
	_, code, err := request(typ, syscallRule(arch, nr), 0)
	if err == nil && code < 0 {
		err = unix.Errno(-code)
	}
	if err != nil {
		return fmt.Errorf("%s audit rule always,exit arch=%#x syscall %d: %w", verb, arch, nr, err)
	}
	return nil
}
