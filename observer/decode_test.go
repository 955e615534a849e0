// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// ret returns K for any nr: a one-instruction filter.
func ret(k uint32) []cbpf.Instruction { return []cbpf.Instruction{{Code: 0x06, K: k}} }

func TestDecodeDecisionReevaluates(t *testing.T) {
	o := NewDecoder(RetInt)
	// Older filter: ERRNO(5) with FLAG_LOG; newer: TRAP. TRAP wins (lower precedence value, §4).
	for _, rec := range [][]byte{testutil.FilterRecord(0x1000, true, ret(0x50005)), testutil.FilterRecord(0x2000, false, ret(0x30000))} {
		ev, err := o.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if f := ev.(*Filter); len(f.Insns) != 1 {
			t.Fatalf("filter decoded with %d insns", len(f.Insns))
		}
	}
	if _, err := o.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x2000}, testutil.Ref{Addr: 0x1000, Log: true})); err != nil {
		t.Fatal(err)
	}
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Seq, r.ThisSyscall, r.Chain = 42, 110, 0x2000
	r.Sd.Nr, r.Sd.Arch, r.Sd.Args[0] = 110, 0xc000003e, 7
	r.Ret = 0xffffffff // int -1: skip
	r.Task.Tgid, r.Task.Tid = 100, 101
	copy(r.Task.Comm[:], []int8{'s', 'h'})
	ev, err := o.Decode(testutil.RawOf(&r))
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
	if _, err := o.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x4000}, testutil.Ref{Addr: 0x3000})); err != nil {
		t.Fatal(err)
	}
	r.Chain = 0x4000
	ev, _ = o.Decode(testutil.RawOf(&r))
	if d := ev.(*Decision); d.Known || !strings.Contains(d.Unknown, "never received") {
		t.Fatalf("missing filter program: %+v", d)
	}
	// So does a stack whose chain record never arrived.
	r.Chain = 0x5000
	ev, _ = o.Decode(testutil.RawOf(&r))
	if d := ev.(*Decision); d.Known || !strings.Contains(d.Unknown, "filter stack 0x5000") {
		t.Fatalf("missing chain: %+v", d)
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
		o := NewDecoder(tc.kind)
		var r gen.SeccompStDecision
		r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
		r.Ret = tc.ret
		ev, err := o.Decode(testutil.RawOf(&r))
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.(*Decision).Skipped; got != tc.skipped {
			t.Errorf("kind %d ret %#x: skipped %v, want %v", tc.kind, tc.ret, got, tc.skipped)
		}
	}
}

func TestDecodeRejectsBadRecords(t *testing.T) {
	o := NewDecoder(RetInt)
	bad := [][]byte{
		nil,
		{1, 0},
		{1, 0, 0, 0, 0, 0, 0, 0}, // decision, truncated
		{9, 0, 0, 0},             // unknown kind
	}
	long := testutil.FilterRecord(1, false, ret(0))
	binary.NativeEndian.PutUint32(long[28:], 4096) // len beyond the record
	bad = append(bad, long)
	for _, raw := range bad {
		if _, err := o.Decode(raw); err == nil {
			t.Errorf("Decode(%v) succeeded", raw)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(testutil.FilterRecord(1, true, ret(0x7fff0000)))
	var r gen.SeccompStDecision
	r.Kind = 1
	f.Add(testutil.RawOf(&r))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o := NewDecoder(RetInt)
		_, _ = o.Decode(raw) // must not panic
	})
}

// TestDecodeReuse: a released decision is reused and decoding allocates
// nothing; decisions on one stack share its Filters; a filter record that
// comes later makes a stack that lacked its program known.
func TestDecodeReuse(t *testing.T) {
	o := NewDecoder(RetInt)
	if _, err := o.Decode(testutil.FilterRecord(0x1000, false, ret(0x50001))); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x2000}, testutil.Ref{Addr: 0x1000})); err != nil {
		t.Fatal(err)
	}
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Chain = 0x2000
	copy(r.Task.Comm[:], []int8{'s', 'h'})
	raw := testutil.RawOf(&r)
	ev, err := o.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	d1 := ev.(*Decision)
	if d1.Known || d1.Unknown != "program of filter 0x2000 was never received" {
		t.Fatalf("missing program: %+v", d1)
	}
	ev, _ = o.Decode(raw)
	if d2 := ev.(*Decision); d2 == d1 || &d2.Filters[0] != &d1.Filters[0] || d2.Unknown != d1.Unknown {
		t.Fatalf("second decision on the stack: %p %+v, first %p %+v", d2, d2, d1, d1)
	}
	if _, err := o.Decode(testutil.FilterRecord(0x2000, true, ret(0x7fff0000))); err != nil {
		t.Fatal(err)
	}
	o.Release(d1)
	ev, _ = o.Decode(raw)
	if d := ev.(*Decision); d != d1 || !d.Known || d.Ret != 0x50001 || d.Match != 1 || d.Comm != "sh" || d.Unknown != "" {
		t.Fatalf("after the program came, reusing the released decision: %p %+v", d, d)
	}
	if n := testing.AllocsPerRun(100, func() {
		ev, _ := o.Decode(raw)
		o.Release(ev.(*Decision))
	}); n != 0 {
		t.Errorf("%v allocations per decision", n)
	}
}

// TestDecodeSyncMarker: the marker SendMarker puts in the ring comes back
// with its token; one cut short is an error, not a marker.
func TestDecodeSyncMarker(t *testing.T) {
	o := NewDecoder(RetInt)
	r := gen.SeccompStSync{Kind: uint32(gen.SeccompStRecordKindST_REC_SYNC), Token: 1<<40 + 7}
	raw := testutil.RawOf(&r)
	ev, err := o.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := ev.(*SyncMarker); !ok || m.Token != r.Token {
		t.Fatalf("decoded %#v, want the marker with token %d", ev, r.Token)
	}
	if _, err := o.Decode(raw[:8]); err == nil {
		t.Fatal("a marker without its token decoded")
	}
}
