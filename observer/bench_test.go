// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"testing"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// allowList is a container-runtime-like profile: arch check, then one JEQ
// per allowed syscall (n of them), default ERRNO(EPERM).
func allowList(n int) []cbpf.Instruction {
	prog := []cbpf.Instruction{
		cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, 4),
		cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ|cbpf.SrcK, 0xc000003e, 1, 0),
		cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.KillProcess),
		cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, 0),
	}
	for i := range n {
		// Each allowed nr jumps to the shared ALLOW at the end.
		prog = append(prog, cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ|cbpf.SrcK, uint32(i), uint8(min(n-i, 255)), 0))
	}
	return append(prog,
		cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1),
		cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Allow))
}

// BenchmarkDecode: one decision record through decode and re-evaluation
// of a 250-rule allow list, and its release once judged, as the reader
// loop does it (judge has the verdict's benchmark).
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		nr   int32
	}{{"denied", 400}, {"allowed-last", 250}, {"allowed-first", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			prog := allowList(250)
			if err := cbpf.Validate(prog); err != nil {
				b.Fatal(err)
			}
			o := NewDecoder(RetInt)
			if _, err := o.Decode(testutil.FilterRecord(0x1000, true, prog)); err != nil {
				b.Fatal(err)
			}
			var r gen.SeccompStDecision
			r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
			if _, err := o.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x1000, Log: true})); err != nil {
				b.Fatal(err)
			}
			r.Chain = 0x1000
			r.ThisSyscall, r.Sd.Nr, r.Sd.Arch = tc.nr, tc.nr, 0xc000003e
			raw := testutil.RawOf(&r)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Seq = uint64(i + 1)
				ev, err := o.Decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				d := ev.(*Decision)
				if !d.Known {
					b.Fatalf("not re-evaluated: %s", d.Unknown)
				}
				o.Release(d)
			}
		})
	}
}
