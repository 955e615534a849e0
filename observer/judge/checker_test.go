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
	if out := p.Add(&observer.Emission{DecisionSeq: 5, Code: 0x50000}); out != nil {
		t.Fatalf("emission completed a pair early: %+v", out)
	}
	p.Add(&observer.Emission{DecisionSeq: 5, SeccompLog: true})
	out := p.Add(&observer.Decision{Seq: 5})
	if len(out) != 1 || len(out[0].Emissions) != 1 || len(out[0].SeccompLogs) != 1 || out[0].Decision.Seq != 5 {
		t.Fatalf("pair %+v", out)
	}
	if out := p.Add(&observer.Emission{Code: 0}); len(out) != 1 || out[0].Decision != nil {
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
	if js := c.Add(d); len(js) != 1 || js[0].Verdict != OKLogged {
		t.Fatalf("agreeing seccomp_log: %+v", js)
	}
	// LOG and the kills pass requested=true even without FLAG_LOG.
	logd := &observer.Decision{Seq: 3, Known: true, Ret: 0x7ffc0000, Match: 0, Filters: []observer.FilterRef{{Log: false}}}
	c.Add(&observer.Emission{DecisionSeq: 3, Code: 0x7ffc0000})
	c.Add(&observer.Emission{DecisionSeq: 3, SeccompLog: true, Code: 0x7ffc0000, Requested: true})
	if js := c.Add(logd); len(js) != 1 || js[0].Verdict != OKLogged {
		t.Fatalf("LOG with requested=true from the call site: %+v", js)
	}
	d2 := *d
	d2.Seq = 2
	c.Add(&observer.Emission{DecisionSeq: 2, SeccompLog: true, Code: 0x50000, Requested: false})
	if js := c.Add(&d2); len(js) != 1 || js[0].Verdict != Inconclusive {
		t.Fatalf("disagreeing seccomp_log: %+v", js)
	}
}

func TestCheckerVerdicts(t *testing.T) {
	c := NewChecker(Config{ActionsLogged: 0xbf})
	errnoLogged := func(seq uint64, log bool) *observer.Decision {
		return &observer.Decision{Seq: seq, Known: true, Ret: 0x50001, Match: 0, Filters: []observer.FilterRef{{Log: log}}, Skipped: true}
	}
	// FLAG_LOG set but no emission: missing-log.
	if js := c.Add(errnoLogged(1, true)); js[0].Verdict != MissingLog {
		t.Errorf("got %s, want missing-log", js[0].Verdict)
	}
	// FLAG_LOG off but an emission: unexpected-log.
	c.Add(&observer.Emission{DecisionSeq: 2, Code: 0x50000})
	if js := c.Add(errnoLogged(2, false)); js[0].Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log", js[0].Verdict)
	}
	// An emission with the wrong code is a violation even when a log was due.
	c.Add(&observer.Emission{DecisionSeq: 3, Code: 0x30000})
	if js := c.Add(errnoLogged(3, true)); js[0].Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log for a wrong code", js[0].Verdict)
	}
	// A write to actions_logged in progress when the decision returned: inconclusive, never a pass.
	d := errnoLogged(4, true)
	d.PolicyRace = true
	if js := c.Add(d); js[0].Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", js[0].Verdict)
	}
	// Unknown action: inconclusive.
	if js := c.Add(&observer.Decision{Seq: 5, Unknown: "x"}); js[0].Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", js[0].Verdict)
	}
	// The policy read in the probe wins over the userspace view.
	d = errnoLogged(6, true)
	d.PolicyRead, d.ActionsLogged = true, 0xb7 // errno bit off
	if js := c.Add(d); js[0].Verdict != OKSilent || js[0].Reason != "action-not-in-actions_logged" {
		t.Errorf("got %s (%s), want ok-silent action-not-in-actions_logged", js[0].Verdict, js[0].Reason)
	}
	// A sysctl write record updates the userspace view; a decision that
	// returned within RaceWindow of the change may have read either value.
	now := time.Unix(1000, 0)
	c.AddWrite(&observer.SysctlWrite{Task: observer.Task{Time: now, Tid: 77}, Write: true, ValueKnown: true, NewValue: 0})
	d = errnoLogged(7, true)
	d.Time = now.Add(RaceWindow / 2)
	if js := c.Add(d); js[0].Verdict != Inconclusive || !strings.Contains(js[0].Reason, "before the decision returned") {
		t.Errorf("just after the change: got %s (%s), want inconclusive", js[0].Verdict, js[0].Reason)
	}
	d = errnoLogged(8, true)
	d.Time = now.Add(2 * RaceWindow)
	if js := c.Add(d); js[0].Verdict != OKSilent {
		t.Errorf("after actions_logged=(none): got %s (%s), want ok-silent", js[0].Verdict, js[0].Reason)
	}
}

// BenchmarkCheck: one decision through pairing and the verdict.
func BenchmarkCheck(b *testing.B) {
	c := NewChecker(Config{ActionsLogged: policy.DefaultLogged})
	d := &observer.Decision{Known: true, Ret: 0x50001, Match: 0, Filters: []observer.FilterRef{{Log: true}}, Skipped: true}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Seq = uint64(i + 1)
		if js := c.Add(d); len(js) != 1 || js[0].Verdict != MissingLog {
			b.Fatalf("judged %+v", js)
		}
	}
}
