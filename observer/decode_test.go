// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
)

func rawOf[T any](v *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))...)
}

// filterRecord builds an ST_REC_FILTER record as the probe sends it: header plus len instructions.
func filterRecord(addr uint64, log bool, prog []cbpf.Instruction) []byte {
	var hdr gen.SeccompStFilter
	hdr.Kind = uint32(gen.SeccompStRecordKindST_REC_FILTER)
	hdr.Addr, hdr.Prog, hdr.Len = addr, addr+1, uint32(len(prog))
	if log {
		hdr.Log = 1
	}
	raw := rawOf(&hdr)[:unsafe.Offsetof(hdr.Insns)]
	for _, in := range prog {
		var b [8]byte
		binary.NativeEndian.PutUint16(b[0:], in.Code)
		b[2], b[3] = in.Jt, in.Jf
		binary.NativeEndian.PutUint32(b[4:], in.K)
		raw = append(raw, b[:]...)
	}
	return raw
}

// ret returns K for any nr: a one-instruction filter.
func ret(k uint32) []cbpf.Instruction { return []cbpf.Instruction{{Code: 0x06, K: k}} }

func TestDecodeDecisionReevaluates(t *testing.T) {
	o := &Observer{filters: map[uint64]*Filter{}}
	// Older filter: ERRNO(5) with FLAG_LOG; newer: TRAP. TRAP wins (lower precedence value, §4).
	for _, rec := range [][]byte{filterRecord(0x1000, true, ret(0x50005)), filterRecord(0x2000, false, ret(0x30000))} {
		ev, err := o.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if f := ev.(*Filter); len(f.Insns) != 1 {
			t.Fatalf("filter decoded with %d insns", len(f.Insns))
		}
	}
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Seq, r.ThisSyscall, r.Depth = 42, 110, 2
	r.Sd.Nr, r.Sd.Arch, r.Sd.Args[0] = 110, 0xc000003e, 7
	r.FilterAddr[0], r.FilterAddr[1] = 0x2000, 0x1000
	r.FilterLog[1] = 1
	r.Ret = 0xffffffff // int -1: skip
	r.Task.Tgid, r.Task.Tid = 100, 101
	copy(r.Task.Comm[:], []int8{'s', 'h'})
	ev, err := o.Decode(rawOf(&r))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.(*Decision)
	if !d.Known || d.Ret != 0x30000 || d.Match != 0 || d.Requested() || !d.Skipped {
		t.Fatalf("decision %+v", d)
	}
	if d.Comm != "sh" || d.Tgid != 100 || d.Tid != 101 || d.Data.Args[0] != 7 || len(d.Filters) != 2 || !d.Filters[1].Log {
		t.Fatalf("decision fields %+v", d)
	}

	// A filter whose program never arrived leaves the action unknown, not guessed.
	r.FilterAddr[1] = 0x3000
	ev, _ = o.Decode(rawOf(&r))
	if d := ev.(*Decision); d.Known || d.Unknown == "" {
		t.Fatalf("missing filter program: %+v", d)
	}
}

func TestDecodeRetKinds(t *testing.T) {
	for _, tc := range []struct {
		kind    RetKind
		ret     uint64
		skipped bool
	}{
		{RetInt, 0, false},
		{RetInt, 0xffffffff, true},
		{RetInt, 0xffffffffffffffff, true},
		{RetBool, 1, false},
		{RetBool, 0, true},
		{RetBool, 0xffffff00, true}, // only the low byte is the bool
	} {
		o := &Observer{plan: Plan{RetKind: tc.kind}, filters: map[uint64]*Filter{}}
		var r gen.SeccompStDecision
		r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
		r.Ret = tc.ret
		ev, err := o.Decode(rawOf(&r))
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.(*Decision).Skipped; got != tc.skipped {
			t.Errorf("kind %d ret %#x: skipped %v, want %v", tc.kind, tc.ret, got, tc.skipped)
		}
	}
}

func TestDecodeRejectsBadRecords(t *testing.T) {
	o := &Observer{filters: map[uint64]*Filter{}}
	bad := [][]byte{
		nil,
		{1, 0},
		{1, 0, 0, 0, 0, 0, 0, 0}, // decision, truncated
		{9, 0, 0, 0},             // unknown kind
	}
	long := filterRecord(1, false, ret(0))
	binary.NativeEndian.PutUint32(long[28:], 4096) // len beyond the record
	bad = append(bad, long)
	for _, raw := range bad {
		if _, err := o.Decode(raw); err == nil {
			t.Errorf("Decode(%v) succeeded", raw)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(filterRecord(1, true, ret(0x7fff0000)))
	var r gen.SeccompStDecision
	r.Kind = 1
	f.Add(rawOf(&r))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o := &Observer{filters: map[uint64]*Filter{}}
		_, _ = o.Decode(raw) // must not panic
	})
}

func TestPairer(t *testing.T) {
	p := NewPairer()
	if out := p.Add(&Emission{DecisionSeq: 5, Code: 0x50000}); out != nil {
		t.Fatalf("emission completed a pair early: %+v", out)
	}
	p.Add(&Emission{DecisionSeq: 5, SeccompLog: true})
	out := p.Add(&Decision{Seq: 5})
	if len(out) != 1 || len(out[0].Emissions) != 1 || len(out[0].SeccompLogs) != 1 || out[0].Decision.Seq != 5 {
		t.Fatalf("pair %+v", out)
	}
	if out := p.Add(&Emission{Code: 0}); len(out) != 1 || out[0].Decision != nil {
		t.Fatalf("strict-mode emission: %+v", out)
	}
	p.Add(&Emission{DecisionSeq: 9})
	if left := p.Flush(); len(left) != 1 || p.Pending() != 0 {
		t.Fatalf("flush: %+v", left)
	}
}

func TestCheckerCrossChecksSeccompLog(t *testing.T) {
	c := &Checker{pairer: NewPairer(), actionsLogged: 0xbf, rechecked: map[uint64]bool{}}
	d := &Decision{Seq: 1, Known: true, Ret: 0x50001, Match: 0, Filters: []FilterRef{{Log: true}}, Skipped: true}
	c.Add(&Emission{DecisionSeq: 1, Code: 0x50000})
	c.Add(&Emission{DecisionSeq: 1, SeccompLog: true, Code: 0x50000, Requested: true})
	if js := c.Add(d); len(js) != 1 || js[0].Verdict != OKLogged {
		t.Fatalf("agreeing seccomp_log: %+v", js)
	}
	// LOG and the kills pass requested=true even without FLAG_LOG.
	logd := &Decision{Seq: 3, Known: true, Ret: 0x7ffc0000, Match: 0, Filters: []FilterRef{{Log: false}}}
	c.Add(&Emission{DecisionSeq: 3, Code: 0x7ffc0000})
	c.Add(&Emission{DecisionSeq: 3, SeccompLog: true, Code: 0x7ffc0000, Requested: true})
	if js := c.Add(logd); len(js) != 1 || js[0].Verdict != OKLogged {
		t.Fatalf("LOG with requested=true from the call site: %+v", js)
	}
	d2 := *d
	d2.Seq = 2
	c.Add(&Emission{DecisionSeq: 2, SeccompLog: true, Code: 0x50000, Requested: false})
	if js := c.Add(&d2); len(js) != 1 || js[0].Verdict != Inconclusive {
		t.Fatalf("disagreeing seccomp_log: %+v", js)
	}
}

func TestCheckerVerdicts(t *testing.T) {
	c := &Checker{pairer: NewPairer(), actionsLogged: 0xbf, rechecked: map[uint64]bool{}}
	errnoLogged := func(seq uint64, log bool) *Decision {
		return &Decision{Seq: seq, Known: true, Ret: 0x50001, Match: 0, Filters: []FilterRef{{Log: log}}, Skipped: true}
	}
	// FLAG_LOG set but no emission: missing-log.
	if js := c.Add(errnoLogged(1, true)); js[0].Verdict != MissingLog {
		t.Errorf("got %s, want missing-log", js[0].Verdict)
	}
	// FLAG_LOG off but an emission: unexpected-log.
	c.Add(&Emission{DecisionSeq: 2, Code: 0x50000})
	if js := c.Add(errnoLogged(2, false)); js[0].Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log", js[0].Verdict)
	}
	// An emission with the wrong code is a violation even when a log was due.
	c.Add(&Emission{DecisionSeq: 3, Code: 0x30000})
	if js := c.Add(errnoLogged(3, true)); js[0].Verdict != UnexpectedLog {
		t.Errorf("got %s, want unexpected-log for a wrong code", js[0].Verdict)
	}
	// actions_logged changing during the decision: inconclusive, never a pass.
	d := errnoLogged(4, true)
	d.PolicyRead, d.ActionsLoggedEntry, d.ActionsLoggedExit = true, 0xbf, 0xb7
	if js := c.Add(d); js[0].Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", js[0].Verdict)
	}
	// Unknown action: inconclusive.
	if js := c.Add(&Decision{Seq: 5, Unknown: "x"}); js[0].Verdict != Inconclusive {
		t.Errorf("got %s, want inconclusive", js[0].Verdict)
	}
	// The policy read in the probe wins over the userspace view.
	d = errnoLogged(6, true)
	d.PolicyRead, d.ActionsLoggedEntry, d.ActionsLoggedExit = true, 0xb7, 0xb7 // errno bit off
	if js := c.Add(d); js[0].Verdict != OKSilent || js[0].Reason != "action-not-in-actions_logged" {
		t.Errorf("got %s (%s), want ok-silent action-not-in-actions_logged", js[0].Verdict, js[0].Reason)
	}
	// A sysctl write record updates the userspace view.
	c.Add(&SysctlWrite{Write: true, ValueKnown: true, NewValue: 0})
	if js := c.Add(errnoLogged(7, true)); js[0].Verdict != OKSilent {
		t.Errorf("after actions_logged=(none): got %s, want ok-silent", js[0].Verdict)
	}
}
