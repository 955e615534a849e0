// SPDX-License-Identifier: Apache-2.0

package judge

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// WriteVerdict says whether the kernel recorded a write to actions_logged
// as its rules say (§5.3).
type WriteVerdict string

// Write verdicts.
const (
	// WriteOK: the record (or its absence) is as the rules say.
	WriteOK WriteVerdict = "ok"
	// WriteMissingRecord: audit was enabled, the stream was followed to a
	// barrier, and no CONFIG_CHANGE record came for the write.
	WriteMissingRecord WriteVerdict = "missing-record"
	// WriteUnexpectedRecord: a record came although none may (audit
	// disabled, or a 4.14-4.17 kernel, which has no such record).
	WriteUnexpectedRecord WriteVerdict = "unexpected-record"
	// WriteWrongRecord: the record's actions, old-actions or res differ
	// from what the kernel must write for this write.
	WriteWrongRecord WriteVerdict = "wrong-record"
	// WriteInconclusive: the record could not be followed, or the value
	// after the write is not known for sure.
	WriteInconclusive WriteVerdict = "inconclusive"
)

// Violation reports whether the kernel recorded the write against its rules.
func (v WriteVerdict) Violation() bool {
	return v == WriteMissingRecord || v == WriteUnexpectedRecord || v == WriteWrongRecord
}

// RecordRule says whether a write's CONFIG_CHANGE record must exist.
type RecordRule int

// Record rules.
const (
	// RecordsUnknown: audit_enabled changed during the run (or could not be
	// read), so a write without a record cannot be judged.
	RecordsUnknown RecordRule = iota
	// RecordsExpected: audit was enabled throughout (4.18+).
	RecordsExpected
	// RecordsNone: audit was disabled throughout, or the kernel is 4.14-4.17.
	RecordsNone
)

// RuleFor says whether writes must have a record, from the model and
// audit_enabled at both ends of the run (known: the status could be read).
func RuleFor(model policy.Model, before, after bool, known bool) RecordRule {
	switch {
	case model == policy.ModelPre418:
		return RecordsNone
	case !known || before != after:
		return RecordsUnknown
	case before:
		return RecordsExpected
	}
	return RecordsNone
}

// WantRecord is the CONFIG_CHANGE record the kernel must write for one
// write attempt: op=seccomp-logging actions=Actions old-actions=OldActions res=Res.
type WantRecord struct {
	Actions, OldActions string
	Res                 int
}

func (w WantRecord) matches(r *audit.ConfigChange) bool {
	return r.Actions == w.Actions && r.OldActions == w.OldActions && r.Res == w.Res
}

// String formats w as the record's fields.
func (w WantRecord) String() string {
	return fmt.Sprintf("actions=%s old-actions=%s res=%d", w.Actions, w.OldActions, w.Res)
}

// Write is one write attempt to kernel.seccomp.actions_logged with the
// record it was joined to and the verdict. The string written is
// SysctlWrite.Written (a record's actions= is the parsed set, not the input).
type Write struct {
	*observer.SysctlWrite
	// Old and New are the values before and after the call.
	Old, New policy.ActionSet
	// NewFromSysctl: the probe could not read the variable, New was read
	// from the sysctl afterwards (racy).
	NewFromSysctl bool
	Want          WantRecord
	Record        *audit.ConfigChange
	// Rule is the record rule the verdict was given under.
	Rule    RecordRule
	Verdict WriteVerdict // "" until settled
	Reason  string
}

// Errno is the write's error, 0 on success.
func (w *Write) Errno() unix.Errno {
	if w.Ret >= 0 {
		return 0
	}
	return unix.Errno(-w.Ret)
}

// Settled reports whether w has its verdict.
func (w *Write) Settled() bool { return w.Verdict != "" }

// Timeline joins the writes to actions_logged that the probe saw to the
// CONFIG_CHANGE records the audit group delivered and judges each against
// the kernel's rules (§5.3). Records are joined in order, by content first:
// each write's expected record is fully known from its result and the old
// and new value, so a stray record (a write before the probes attached) is
// left over rather than shifting every later join. A verdict is given when
// the write is settled, under the rule in force then. Not safe for
// concurrent use.
type Timeline struct {
	rule    RecordRule
	pending []*Write // not yet joined to a record
	records []*audit.ConfigChange
}

// NewTimeline starts a timeline under rule.
func NewTimeline(rule RecordRule) *Timeline { return &Timeline{rule: rule} }

// SetRule changes the record rule, e.g. once the audit state at the end of
// the run is known; it applies to the writes settled from then on.
func (t *Timeline) SetRule(r RecordRule) { t.rule = r }

// Rule is the record rule in force.
func (t *Timeline) Rule() RecordRule { return t.rule }

// AddWrite takes a write (Checker.AddWrite) and joins it to a record that
// already matches it.
func (t *Timeline) AddWrite(w *Write) {
	w.Want = WantRecord{Actions: "?", OldActions: w.Old.AuditString(), Res: 0}
	if w.Ret == 0 {
		w.Want = WantRecord{Actions: w.New.AuditString(), OldActions: w.Old.AuditString(), Res: 1}
	}
	for i, r := range t.records {
		if w.Want.matches(r) {
			t.records = slices.Delete(t.records, i, i+1)
			w.Record = r
			return
		}
	}
	t.pending = append(t.pending, w)
}

// AddRecord takes a seccomp-logging CONFIG_CHANGE record and returns the
// write it was joined to, if any.
func (t *Timeline) AddRecord(r *audit.ConfigChange) *Write {
	for i, w := range t.pending {
		if w.Want.matches(r) {
			t.pending = slices.Delete(t.pending, i, i+1)
			w.Record = r
			return w
		}
	}
	t.records = append(t.records, r)
	return nil
}

// Waiting reports whether w still waits for a record that may come.
func (t *Timeline) Waiting(w *Write) bool {
	return w.Record == nil && t.rule != RecordsNone && slices.Contains(t.pending, w)
}

// Finish joins the records left over to the writes still waiting, in
// order, once the audit stream has been followed to its end: a write the
// kernel recorded wrongly then holds the record it got. It returns the
// records no write explains.
func (t *Timeline) Finish() []*audit.ConfigChange {
	for len(t.pending) > 0 && len(t.records) > 0 {
		t.pending[0].Record = t.records[0]
		t.pending, t.records = t.pending[1:], t.records[1:]
	}
	left := t.records
	t.records = nil
	return left
}

// Settle gives w its verdict under the rule in force. followed says the
// audit stream was read to a barrier, so a record not joined by now never
// came; why says why not otherwise.
func (t *Timeline) Settle(w *Write, followed bool, why string) {
	if w.Settled() {
		return
	}
	t.pending = slices.DeleteFunc(t.pending, func(p *Write) bool { return p == w })
	w.Rule = t.rule
	r := w.Record
	switch {
	case r == nil && !w.Write:
		// A read has no record. The probes send only writes; a read can
		// come from elsewhere (a replayed stream).
		w.Verdict, w.Reason = WriteOK, "no record: a read"
	case r == nil && t.rule == RecordsNone:
		w.Verdict, w.Reason = WriteOK, "no record expected (audit disabled, or a 4.14-4.17 kernel)"
	case r == nil && !followed:
		w.Verdict, w.Reason = WriteInconclusive, why
	case r == nil && t.rule == RecordsUnknown:
		w.Verdict, w.Reason = WriteInconclusive, "no CONFIG_CHANGE record, and audit_enabled changed during the run"
	case r == nil:
		w.Verdict, w.Reason = WriteMissingRecord, "audit was enabled but no CONFIG_CHANGE record came; want "+w.Want.String()
	case t.rule == RecordsNone:
		w.Verdict, w.Reason = WriteUnexpectedRecord, "a record came although audit was disabled"
	case !w.Want.matches(r):
		w.Verdict, w.Reason = WriteWrongRecord, fmt.Sprintf("record says actions=%s old-actions=%s res=%d, the kernel's rules give %s",
			r.Actions, r.OldActions, r.Res, w.Want)
	default:
		w.Verdict, w.Reason = WriteOK, "record as the kernel's rules say"
	}
	// A value read back afterwards may already be a later write's: neither
	// a match nor a mismatch with the record it predicts proves anything.
	if (w.Verdict == WriteOK || w.Verdict == WriteWrongRecord) && w.NewFromSysctl {
		w.Verdict, w.Reason = WriteInconclusive, "the probe could not read actions_logged; the value was read afterwards"
	}
}
