// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

func sysctlWrite(ret int64, newValue policy.ActionSet) *SysctlWrite {
	return &SysctlWrite{Task: Task{Tgid: 42, Comm: "sh"}, Ret: ret, Write: true, NewValue: uint32(newValue), ValueKnown: true}
}

func cc(actions, old string, res int) *audit.ConfigChange {
	return &audit.ConfigChange{Op: "seccomp-logging", Actions: actions, OldActions: old, Res: res}
}

func TestTimelineJoinsByContent(t *testing.T) {
	def := policy.DefaultLogged
	tl := NewTimeline(def, RecordsExpected)
	// A stray record (a write before the probes attached) must not shift the join.
	if w := tl.AddRecord(cc("errno", "(none)", 1)); w != nil {
		t.Fatalf("stray record decided %+v", w)
	}
	w1 := tl.AddWrite(sysctlWrite(0, policy.BitLog))
	w2 := tl.AddWrite(sysctlWrite(-22, policy.BitLog)) // EINVAL: value unchanged
	if w1.Decided() || w2.Decided() {
		t.Fatal("decided before their records came")
	}
	if got := tl.AddRecord(cc("?", "log", 0)); got != w2 {
		t.Fatalf("failed write's record joined to %+v", got)
	}
	if got := tl.AddRecord(cc("log", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 1)); got != w1 {
		t.Fatalf("first write's record joined to %+v", got)
	}
	w3 := tl.AddWrite(sysctlWrite(0, 0)) // to (none); its record never comes
	left := tl.Finish(true, "")
	if w1.Verdict != WriteOK || w2.Verdict != WriteOK || w2.Errno() != 22 || w2.Old != policy.BitLog {
		t.Errorf("w1 %s, w2 %s errno %d old %v", w1.Verdict, w2.Verdict, w2.Errno(), w2.Old)
	}
	// The stray record is left over for w3 and judged wrong.
	if w3.Verdict != WriteWrongRecord || w3.Want.String() != "actions=(none) old-actions=log res=1" || len(left) != 0 {
		t.Errorf("w3 %s (%s), want wrong-record; left %d", w3.Verdict, w3.Reason, len(left))
	}
}

func TestTimelineVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rule     RecordRule
		record   *audit.ConfigChange
		followed bool
		want     Verdict
	}{
		{"record as the rules say", RecordsExpected, cc("log", "errno", 1), true, WriteOK},
		{"missing record", RecordsExpected, nil, true, WriteMissingRecord},
		{"not followed", RecordsExpected, nil, false, Inconclusive},
		{"audit toggled during the run", RecordsUnknown, nil, true, Inconclusive},
		{"audit disabled, no record", RecordsNone, nil, true, WriteOK},
		{"audit disabled, a record", RecordsNone, cc("log", "errno", 1), true, WriteUnexpectedRecord},
		{"wrong old-actions", RecordsExpected, cc("log", "trap", 1), true, WriteWrongRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTimeline(policy.BitErrno, tc.rule)
			w := tl.AddWrite(sysctlWrite(0, policy.BitLog))
			if tc.record != nil {
				tl.AddRecord(tc.record)
			}
			tl.Finish(tc.followed, "no CAP_AUDIT_READ")
			if w.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s", w.Verdict, w.Reason, tc.want)
			}
			if w.Violation() != (tc.want != WriteOK && tc.want != Inconclusive) {
				t.Errorf("Violation() = %v for %s", w.Violation(), w.Verdict)
			}
		})
	}
}

func TestTimelineExpire(t *testing.T) {
	tl := NewTimeline(policy.BitErrno, RecordsExpected)
	w := tl.AddWrite(sysctlWrite(0, policy.BitLog))
	tl.Expire(w, "no record within 2s")
	if w.Verdict != Inconclusive || w.Reason != "no record within 2s" {
		t.Errorf("expired: %s %s", w.Verdict, w.Reason)
	}
	// A late record is left over, not joined to an already-printed write.
	if got := tl.AddRecord(cc("log", "errno", 1)); got != nil {
		t.Errorf("late record decided %+v", got)
	}
	if left := tl.Finish(true, ""); len(left) != 1 {
		t.Errorf("%d records left over, want 1", len(left))
	}
}
