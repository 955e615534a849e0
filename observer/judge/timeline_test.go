// SPDX-License-Identifier: Apache-2.0

package judge

import (
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

func sysctlWrite(ret int64, newValue policy.ActionSet) *observer.SysctlWrite {
	return &observer.SysctlWrite{Task: observer.Task{Tgid: 42, Comm: "sh"}, Ret: ret, Write: true, NewValue: uint32(newValue), ValueKnown: true}
}

func cc(actions, old string, res int) *audit.ConfigChange {
	return &audit.ConfigChange{Op: "seccomp-logging", Actions: actions, OldActions: old, Res: res}
}

// addWrite follows a write through the checker, as the session does.
func addWrite(c *Checker, tl *Timeline, s *observer.SysctlWrite) *Write {
	w := c.AddWrite(s)
	tl.AddWrite(w)
	return w
}

func TestTimelineJoinsByContent(t *testing.T) {
	c := NewChecker(Config{ActionsLogged: policy.DefaultLogged})
	tl := NewTimeline(RecordsExpected)
	// A stray record (a write before the probes attached) must not shift the join.
	if w := tl.AddRecord(cc("errno", "(none)", 1)); w != nil {
		t.Fatalf("stray record joined to %+v", w)
	}
	w1 := addWrite(c, tl, sysctlWrite(0, policy.BitLog))
	w2 := addWrite(c, tl, sysctlWrite(-22, policy.BitLog)) // EINVAL: value unchanged
	if !tl.Waiting(w1) || !tl.Waiting(w2) {
		t.Fatal("not waiting before their records came")
	}
	if got := tl.AddRecord(cc("?", "log", 0)); got != w2 {
		t.Fatalf("failed write's record joined to %+v", got)
	}
	if got := tl.AddRecord(cc("log", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 1)); got != w1 {
		t.Fatalf("first write's record joined to %+v", got)
	}
	w3 := addWrite(c, tl, sysctlWrite(0, 0)) // to (none); its record never comes
	left := tl.Finish()
	for _, w := range []*Write{w1, w2, w3} {
		tl.Settle(w, true, "")
	}
	if w1.Verdict != WriteOK || w2.Verdict != WriteOK || w2.Errno() != 22 || w2.Old != policy.BitLog {
		t.Errorf("w1 %s, w2 %s errno %d old %v", w1.Verdict, w2.Verdict, w2.Errno(), w2.Old)
	}
	// The stray record is left over for w3 and judged wrong.
	if w3.Verdict != WriteWrongRecord || w3.Want.String() != "actions=(none) old-actions=log res=1" || len(left) != 0 {
		t.Errorf("w3 %s (%s), want wrong-record; left %d", w3.Verdict, w3.Reason, len(left))
	}
	if c.ActionsLogged() != 0 {
		t.Errorf("checker follows actions_logged as %v, want (none)", c.ActionsLogged())
	}
}

func TestTimelineVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rule     RecordRule
		record   *audit.ConfigChange
		followed bool
		want     WriteVerdict
	}{
		{"record as the rules say", RecordsExpected, cc("log", "errno", 1), true, WriteOK},
		{"missing record", RecordsExpected, nil, true, WriteMissingRecord},
		{"not followed", RecordsExpected, nil, false, WriteInconclusive},
		{"audit toggled during the run", RecordsUnknown, nil, true, WriteInconclusive},
		{"audit disabled, no record", RecordsNone, nil, true, WriteOK},
		{"audit disabled, a record", RecordsNone, cc("log", "errno", 1), true, WriteUnexpectedRecord},
		{"wrong old-actions", RecordsExpected, cc("log", "trap", 1), true, WriteWrongRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker(Config{ActionsLogged: policy.BitErrno})
			tl := NewTimeline(tc.rule)
			w := addWrite(c, tl, sysctlWrite(0, policy.BitLog))
			if tc.record != nil {
				tl.AddRecord(tc.record)
			}
			tl.Finish()
			tl.Settle(w, tc.followed, "no CAP_AUDIT_READ")
			if w.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s", w.Verdict, w.Reason, tc.want)
			}
			if w.Verdict.Violation() != (tc.want != WriteOK && tc.want != WriteInconclusive) {
				t.Errorf("Violation() = %v for %s", w.Verdict.Violation(), w.Verdict)
			}
		})
	}
}

// TestTimelineReadBack: where neither the probe nor the string written
// gives the new value, it is read back from the sysctl, maybe after a
// later write: a record that matches it or not proves nothing either way.
func TestTimelineReadBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record *audit.ConfigChange
	}{
		{"matches the value read back", cc("trap", "errno", 1)},
		{"does not match it (a later write's value)", cc("log", "errno", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker(Config{ActionsLogged: policy.BitErrno, ReadBack: func() (policy.ActionSet, error) { return policy.BitTrap, nil }})
			tl := NewTimeline(RecordsExpected)
			s := sysctlWrite(0, 0)
			s.ValueKnown = false
			w := addWrite(c, tl, s)
			tl.AddRecord(tc.record)
			tl.Finish()
			tl.Settle(w, true, "")
			if !w.NewFromSysctl || w.Verdict != WriteInconclusive {
				t.Errorf("read back %v: verdict %s (%s), want inconclusive", w.NewFromSysctl, w.Verdict, w.Reason)
			}
		})
	}
}

// TestTimelineSettledEarly: watch settles a write whose record has not come
// within its wait; a late record is left over, not joined to a printed write.
func TestTimelineSettledEarly(t *testing.T) {
	c := NewChecker(Config{ActionsLogged: policy.BitErrno})
	tl := NewTimeline(RecordsExpected)
	w := addWrite(c, tl, sysctlWrite(0, policy.BitLog))
	tl.Settle(w, false, "no record within 2s")
	if w.Verdict != WriteInconclusive || w.Reason != "no record within 2s" {
		t.Errorf("settled early: %s %s", w.Verdict, w.Reason)
	}
	if got := tl.AddRecord(cc("log", "errno", 1)); got != nil {
		t.Errorf("late record joined to %+v", got)
	}
	if left := tl.Finish(); len(left) != 1 {
		t.Errorf("%d records left over, want 1", len(left))
	}
}

func TestRuleFor(t *testing.T) {
	for _, tc := range []struct {
		model                policy.Model
		before, after, known bool
		want                 RecordRule
	}{
		{policy.ModelPost418, true, true, true, RecordsExpected},
		{policy.ModelPost418, false, false, true, RecordsNone},
		{policy.ModelPost418, true, false, true, RecordsUnknown},
		{policy.ModelPost418, true, true, false, RecordsUnknown},
		{policy.ModelPre418, true, true, true, RecordsNone},
	} {
		if got := RuleFor(tc.model, tc.before, tc.after, tc.known); got != tc.want {
			t.Errorf("RuleFor(%v, %v, %v, %v) = %v, want %v", tc.model, tc.before, tc.after, tc.known, got, tc.want)
		}
	}
}
