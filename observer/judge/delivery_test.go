// SPDX-License-Identifier: Apache-2.0

package judge

import (
	"strconv"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

func TestLossReason(t *testing.T) {
	refused := &observer.AuditDrop{Refused: true, Type: 1326}
	backlog := &observer.AuditDrop{Reason: "backlog limit exceeded"}
	seccomp := "-a never,exclude -F msgtype=SECCOMP"
	byPid := "-a never,exclude -F pid=42"
	generic := "excluded: audit_log_start refused the record without counting it lost (an exclude rule such as msgtype=SECCOMP)"
	for _, tc := range []struct {
		name  string
		boot  string
		drops []*observer.AuditDrop
		rules []string
		want  string
	}{
		{"no drop", "", nil, []string{seccomp}, ""},
		{"one rule", "", []*observer.AuditDrop{refused}, []string{seccomp}, `excluded by rule "-a never,exclude -F msgtype=SECCOMP"`},
		{"two rules", "", []*observer.AuditDrop{refused}, []string{seccomp, byPid},
			`excluded by one of the rules "-a never,exclude -F msgtype=SECCOMP", "-a never,exclude -F pid=42"`},
		{"rules not listed", "", []*observer.AuditDrop{refused}, nil, generic},
		{"counted loss wins", "", []*observer.AuditDrop{refused, backlog}, []string{seccomp}, "backlog limit exceeded"},
		{"audit=0", "audit=0", []*observer.AuditDrop{refused}, nil, "audit disabled at boot (audit=0)"},
		{"audit=0 before rules", "audit=0", []*observer.AuditDrop{refused}, []string{seccomp}, "audit disabled at boot (audit=0)"},
		{"audit=1", "audit=1", []*observer.AuditDrop{refused}, []string{seccomp}, `excluded by rule "-a never,exclude -F msgtype=SECCOMP"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off := ""
			if tc.boot == "audit=0" {
				off = tc.boot
			}
			if got := LossReason(tc.drops, LossContext{OffAtBoot: off, ExcludeRules: tc.rules}); got != tc.want {
				t.Errorf("LossReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJoinerNamesExcludeRules(t *testing.T) {
	j := NewJoiner("")
	e := &observer.Emission{Task: observer.Task{Tgid: 7}, Syscall: 110, Code: 0x7ffc0000}
	j.AddEmissions(&Judged{Pair: Pair{Emissions: []*observer.Emission{e}}})
	drops := []*observer.AuditDrop{{Refused: true, Type: 1326}}
	if d := j.Delivery(e, false, drops); d.State != Lost || !strings.HasPrefix(d.Reason, "excluded:") {
		t.Fatalf("no rules known: %+v", d)
	}
	// Snapshots before and after the run: the same rule once, a new one added.
	j.AddExcludeRules([]string{"-a never,exclude -F msgtype=SECCOMP"})
	j.AddExcludeRules([]string{"-a never,exclude -F msgtype=SECCOMP", "-a never,exclude -F uid=0"})
	want := `excluded by one of the rules "-a never,exclude -F msgtype=SECCOMP", "-a never,exclude -F uid=0"`
	if d := j.Delivery(e, true, drops); d.State != Lost || d.Reason != want {
		t.Errorf("Delivery = %+v, want lost(%s)", d, want)
	}
	// A delivered record wins over any rule.
	j.AddRecord(&audit.Seccomp{Pid: 7, Syscall: 110, Code: 0x7ffc0000})
	if d := j.Delivery(e, true, drops); d.State != Delivered {
		t.Errorf("after its record: %+v", d)
	}
}

// TestJoinerSkipsLostEmissions: with a backlog, records die in between
// delivered ones. Records carry no link to their emission but the order
// of a key, so a lost emission must not take the record of a later one.
func TestJoinerSkipsLostEmissions(t *testing.T) {
	const code = 0x7ffc0000
	backlog := []*observer.AuditDrop{{Reason: "backlog limit exceeded"}, {Refused: true, Type: 1326}}
	for _, recordsFirst := range []bool{false, true} {
		j := NewJoiner("")
		es := make([]*observer.Emission, 4)
		for i := range es {
			es[i] = &observer.Emission{Task: observer.Task{Tgid: 9}, Syscall: 111, Code: code}
		}
		drops := [][]*observer.AuditDrop{backlog, nil, backlog, nil} // the 1st and 3rd records died
		recs := []*audit.Seccomp{
			{Pid: 9, Syscall: 111, Code: code, Stamp: audit.Stamp{Serial: 20}},
			{Pid: 9, Syscall: 111, Code: code, Stamp: audit.Stamp{Serial: 21}},
		}
		if recordsFirst {
			for _, r := range recs {
				j.AddRecord(r)
			}
		}
		for i, e := range es {
			j.AddEmissions(&Judged{Pair: Pair{Emissions: []*observer.Emission{e}, Drops: drops[i]}})
		}
		if !recordsFirst {
			for _, r := range recs {
				j.AddRecord(r)
			}
		}
		want := []string{"lost(backlog limit exceeded)", "delivered 20", "lost(backlog limit exceeded)", "delivered 21"}
		for i, e := range es {
			d := j.Delivery(e, true, drops[i])
			got := "lost(" + d.Reason + ")"
			if d.State == Delivered {
				got = "delivered " + strconv.Itoa(int(d.Record.Stamp.Serial))
			}
			if got != want[i] {
				t.Errorf("records first %v: emission %d: %s, want %s", recordsFirst, i, got, want[i])
			}
		}
		if left := j.UnmatchedRecords(nil); len(left) != 0 {
			t.Errorf("records first %v: %d records left unmatched", recordsFirst, len(left))
		}
	}
}
