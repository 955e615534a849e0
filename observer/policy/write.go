// SPDX-License-Identifier: Apache-2.0

package policy

// WriteOutcome is what one write(2) of a string to
// kernel.seccomp.actions_logged must do (docs/kernel-semantics.md §5.3, §5.4).
type WriteOutcome struct {
	// OK: the write succeeds and the value becomes New; otherwise it fails
	// (EPERM without CAP_SYS_ADMIN, EINVAL) and the value stays old.
	OK  bool
	New ActionSet
	// The AUDIT_CONFIG_CHANGE record (4.18+, only while audit is enabled):
	// op=seccomp-logging actions=RecordActions old-actions=RecordOldActions res=Res.
	RecordActions, RecordOldActions string
	Res                             int
}

// ExpectWrite models a single write of written by a task with or without
// CAP_SYS_ADMIN when the value is old.
func ExpectWrite(old ActionSet, written string, privileged, haveUserNotif bool) WriteOutcome {
	fail := WriteOutcome{New: old, RecordActions: "?", RecordOldActions: old.AuditString(), Res: 0}
	if !privileged {
		return fail
	}
	set, err := ParseActionsLogged(written, haveUserNotif)
	if err != nil {
		return fail
	}
	return WriteOutcome{OK: true, New: set, RecordActions: set.AuditString(), RecordOldActions: old.AuditString(), Res: 1}
}
