// SPDX-License-Identifier: Apache-2.0

package judge

import (
	"strings"
	"testing"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

func TestPairer(t *testing.T) {
	p := NewPairer()
	if out, ok := p.Add(&observer.Emission{DecisionSeq: 5, Code: 0x50000}); ok {
		t.Fatalf("emission completed a pair early: %+v", out)
	}
	p.Add(&observer.Emission{DecisionSeq: 5, SeccompLog: true})
	out, ok := p.Add(&observer.Decision{Seq: 5})
	if !ok || len(out.Emissions) != 1 || len(out.SeccompLogs) != 1 || out.Decision.Seq != 5 || p.Pending() != 0 {
		t.Fatalf("pair %+v", out)
	}
	if out, ok := p.Add(&observer.Decision{Seq: 6}); !ok || out.Decision.Seq != 6 || out.Emissions != nil {
		t.Fatalf("decision without emissions: %+v", out)
	}
	if out, ok := p.Add(&observer.Emission{Code: 0}); !ok || out.Decision != nil || len(out.Emissions) != 1 {
		t.Fatalf("strict-mode emission: %+v", out)
	}
	p.Add(&observer.Emission{DecisionSeq: 9})
	if left := p.Flush(); len(left) != 1 || p.Pending() != 0 {
		t.Fatalf("flush: %+v", left)
	}
}

func TestCheckerCrossChecksSeccompLog(t *testing.T) {
	c := NewChecker(Config{ActionsLogged: 0xbf})
	d := &observer.Decision{Seq: 1, Known: true, Ret: 0x50001, Match: 0, Filters: []observer.FilterRef{{Log: true}}, Skipped: true}
	c.Add(&observer.Emission{DecisionSeq: 1, Code: 0x50000})
	c.Add(&observer.Emission{DecisionSeq: 1, SeccompLog: true, Code: 0x50000, Requested: true})
	if j, ok := c.Add(d); !ok || j.Verdict != OKLogged {
		t.Fatalf("agreeing seccomp_log: %+v", j)
	}
	// LOG and the kills pass requested=true even without FLAG_LOG.
	logd := &observer.Decision{Seq: 3, Known: true, Ret: 0x7ffc0000, Match: 0, Filters: []observer.FilterRef{{Log: false}}}
	c.Add(&observer.Emission{DecisionSeq: 3, Code: 0x7ffc0000})
	c.Add(&observer.Emission{DecisionSeq: 3, SeccompLog: true, Code: 0x7ffc0000, Requested: true})
	if j, ok := c.Add(logd); !ok || j.Verdict != OKLogged {
		t.Fatalf("LOG with requested=true from the call site: %+v", j)
	}
	d2 := *d
	d2.Seq = 2
	c.Add(&observer.Emission{DecisionSeq: 2, SeccompLog: true, Code: 0x50000, Requested: false})
	if j, ok := c.Add(&d2); !ok || j.Verdict != Inconclusive {
		t.Fatalf("disagreeing seccomp_log: %+v", j)
	}
}

func TestCheckerVerdicts(t *testing.T) {
	c := NewChecker(Config{ActionsLogged: 0xbf})
	errnoLogged := func(seq uint64, log bool) *observer.Decision {
		return &observer.Decision{Seq: seq, Known: true, Ret: 0x50001, Match: 0, Filters: []observer.FilterRef{{Log: log}}, Skipped: true}
	}
	// FLAG_LOG set but no emission: missing-log.
	if j, _ := c.Add(errnoLogged(1, true)); j.Verdict != MissingLog {
		t.Errorf("got %s, want missing-log", j.Verdict)
	}
	// FLAG_LOG off but an emission: unexpected-log.
	c.Add(&observer.Emission{DecisionSeq: 2, Code: 0x50000})
	if j, _ := c.Add(errnoLogged(2, false)); j.Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log", j.Verdict)
	}
	// An emission with the wrong code is a violation even when a log was due.
	c.Add(&observer.Emission{DecisionSeq: 3, Code: 0x30000})
	if j, _ := c.Add(errnoLogged(3, true)); j.Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log for a wrong code", j.Verdict)
	}
	// A write to actions_logged in progress when the decision returned: inconclusive, never a pass.
	d := errnoLogged(4, true)
	d.PolicyRace = true
	if j, _ := c.Add(d); j.Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", j.Verdict)
	}
	// Unknown action: inconclusive.
	if j, _ := c.Add(&observer.Decision{Seq: 5, Unknown: "x"}); j.Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", j.Verdict)
	}
	// The policy read in the probe wins over the userspace view.
	d = errnoLogged(6, true)
	d.PolicyRead, d.ActionsLogged = true, 0xb7 // errno bit off
	if j, _ := c.Add(d); j.Verdict != OKSilent || j.Reason != "action-not-in-actions_logged" {
		t.Errorf("got %s (%s), want ok-silent action-not-in-actions_logged", j.Verdict, j.Reason)
	}
	// A sysctl write record updates the userspace view; a decision that
	// returned within RaceWindow of the change may have read either value.
	now := time.Unix(1000, 0)
	c.AddWrite(&observer.SysctlWrite{Task: observer.Task{Time: now, Tid: 77}, Write: true, ValueKnown: true, NewValue: 0})
	d = errnoLogged(7, true)
	d.Time = now.Add(RaceWindow / 2)
	if j, _ := c.Add(d); j.Verdict != Inconclusive || !strings.Contains(j.Reason, "before the decision returned") {
		t.Errorf("just after the change: got %s (%s), want inconclusive", j.Verdict, j.Reason)
	}
	d = errnoLogged(8, true)
	d.Time = now.Add(2 * RaceWindow)
	if j, _ := c.Add(d); j.Verdict != OKSilent {
		t.Errorf("after actions_logged=(none): got %s (%s), want ok-silent", j.Verdict, j.Reason)
	}
}

// BenchmarkCheck: one decision through pairing and the verdict.
func BenchmarkCheck(b *testing.B) {
	c := NewChecker(Config{ActionsLogged: policy.DefaultLogged})
	d := &observer.Decision{Known: true, Ret: 0x50001, Match: 0, Filters: []observer.FilterRef{{Log: true}}, Skipped: true}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Seq = uint64(i + 1)
		if j, ok := c.Add(d); !ok || j.Verdict != MissingLog {
			b.Fatalf("judged %+v", j)
		}
	}
}
