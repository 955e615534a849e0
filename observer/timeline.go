// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Verdicts of a write to actions_logged: whether the kernel recorded it as
// its rules say (kernel-semantics §5.3). A write is also Inconclusive when
// its record could not be followed.
const (
	// WriteOK: the record (or its absence) is as the rules say.
	WriteOK Verdict = "ok"
	// WriteMissingRecord: audit was enabled, the stream was followed to a
	// barrier, and no CONFIG_CHANGE record came for the write.
	WriteMissingRecord Verdict = "missing-record"
	// WriteUnexpectedRecord: a record came although none may (audit
	// disabled, or a 4.14-4.17 kernel, which has no such record).
	WriteUnexpectedRecord Verdict = "unexpected-record"
	// WriteWrongRecord: the record's actions, old-actions or res differ
	// from what the kernel must write for this write.
	WriteWrongRecord Verdict = "wrong-record"
)

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
	*SysctlWrite
	// Old and New are the values before and after the call.
	Old, New policy.ActionSet
	// NewFromSysctl: the probe could not read the variable, New was read
	// from the sysctl afterwards (racy).
	NewFromSysctl bool
	Want          WantRecord
	Record        *audit.ConfigChange
	Verdict       Verdict // "" while undecided
	Reason        string
}

// Errno is the write's error, 0 on success.
func (w *Write) Errno() unix.Errno {
	if w.Ret >= 0 {
		return 0
	}
	return unix.Errno(-w.Ret)
}

// Timeline joins the writes to actions_logged that the probe saw to the
// CONFIG_CHANGE records the audit group delivered and judges each against
// the kernel's rules (§5.3). Records are joined in order, by content first:
// each write's expected record is fully known from its result and the old
// and new value, so a stray record (a write before the probes attached) is
// left over rather than shifting every later join. Not safe for
// concurrent use.
type Timeline struct {
	cur     policy.ActionSet
	rule    RecordRule
	writes  []*Write
	pending []*Write // waiting for a record
	records []*audit.ConfigChange
}

// NewTimeline starts a timeline at the value initial.
func NewTimeline(initial policy.ActionSet, rule RecordRule) *Timeline {
	return &Timeline{cur: initial, rule: rule}
}

// Current is the value after the last write seen.
func (t *Timeline) Current() policy.ActionSet { return t.cur }

// Writes returns every write in probe order.
func (t *Timeline) Writes() []*Write { return t.writes }

// AddWrite takes a write the probe saw; the write is decided at once when
// a record already matches it or none is expected.
func (t *Timeline) AddWrite(s *SysctlWrite) *Write {
	w := &Write{SysctlWrite: s, Old: t.cur, New: t.cur}
	if set, ok := s.ValueAfter(t.cur); ok {
		w.New = set
	} else if set, err := ReadActionsLogged(); err == nil {
		w.New, w.NewFromSysctl = set, true
	}
	t.cur = w.New
	w.Want = WantRecord{Actions: "?", OldActions: w.Old.AuditString(), Res: 0}
	if s.Ret == 0 {
		w.Want = WantRecord{Actions: w.New.AuditString(), OldActions: w.Old.AuditString(), Res: 1}
	}
	t.writes = append(t.writes, w)
	for i, r := range t.records {
		if w.Want.matches(r) {
			t.records = append(t.records[:i], t.records[i+1:]...)
			t.decide(w, r)
			return w
		}
	}
	t.pending = append(t.pending, w)
	return w
}

// AddRecord takes a seccomp-logging CONFIG_CHANGE record and returns the
// write it decided, if any.
func (t *Timeline) AddRecord(r *audit.ConfigChange) *Write {
	for i, w := range t.pending {
		if w.Want.matches(r) {
			t.pending = append(t.pending[:i], t.pending[i+1:]...)
			t.decide(w, r)
			return w
		}
	}
	t.records = append(t.records, r)
	return nil
}

// Decided reports whether w has its verdict.
func (w *Write) Decided() bool { return w.Verdict != "" }

// Violation reports whether the kernel recorded w against its rules.
func (w *Write) Violation() bool {
	return w.Verdict == WriteMissingRecord || w.Verdict == WriteUnexpectedRecord || w.Verdict == WriteWrongRecord
}

// Expire decides w without waiting longer: when no record may come, it is
// ok; otherwise inconclusive, with why.
func (t *Timeline) Expire(w *Write, why string) {
	if w.Verdict != "" {
		return
	}
	t.remove(w)
	if t.rule == RecordsNone {
		t.decide(w, nil)
		return
	}
	w.Verdict, w.Reason = Inconclusive, why
}

// Finish decides every write still waiting once the audit stream has been
// followed to a barrier (followed) or could not be (why says so): left-over
// records are joined to waiting writes in order (and judged wrong or
// unexpected); the rest are missing, ok or inconclusive. It returns the records no write explains.
func (t *Timeline) Finish(followed bool, why string) []*audit.ConfigChange {
	for _, w := range t.pending {
		switch {
		case len(t.records) > 0:
			r := t.records[0]
			t.records = t.records[1:]
			t.decide(w, r)
		case t.rule == RecordsNone:
			t.decide(w, nil)
		case !followed:
			w.Verdict, w.Reason = Inconclusive, "CONFIG_CHANGE records not followed: "+why
		case t.rule == RecordsUnknown:
			w.Verdict, w.Reason = Inconclusive, "no CONFIG_CHANGE record, and audit_enabled changed during the run"
		default:
			t.decide(w, nil)
		}
	}
	t.pending = nil
	left := t.records
	t.records = nil
	return left
}

func (t *Timeline) remove(w *Write) {
	for i, p := range t.pending {
		if p == w {
			t.pending = append(t.pending[:i], t.pending[i+1:]...)
			return
		}
	}
}

// decide judges w with its record r (nil: none came).
func (t *Timeline) decide(w *Write, r *audit.ConfigChange) {
	w.Record = r
	switch {
	case !w.Write && r == nil:
		// kretprobe mode cannot tell a read (no record) from a write.
		w.Verdict, w.Reason = WriteOK, "no record: a read, or a write the kretprobe could not tell from one"
	case r == nil && t.rule == RecordsNone:
		w.Verdict, w.Reason = WriteOK, "no record expected (audit disabled, or a 4.14-4.17 kernel)"
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
	if w.Verdict == WriteOK && w.NewFromSysctl {
		w.Verdict, w.Reason = Inconclusive, "the probe could not read actions_logged; the value was read afterwards"
	}
}

// SetRule changes the record rule, e.g. once the audit state at the end of
// the run is known; it applies to the writes decided from then on.
func (t *Timeline) SetRule(r RecordRule) { t.rule = r }
