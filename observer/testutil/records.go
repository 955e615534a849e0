// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"encoding/binary"
	"unsafe"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
)

// RawOf is a record's bytes as the probes write them: the bpf2go struct in
// host layout.
func RawOf[T any](v *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))...)
}

// FilterRecord is an ST_REC_FILTER record as the probes send it: the
// header and len(prog) instructions, no more.
func FilterRecord(addr uint64, log bool, prog []cbpf.Instruction) []byte {
	var hdr gen.SeccompStFilter
	hdr.Kind = uint32(gen.SeccompStRecordKindST_REC_FILTER)
	hdr.Addr, hdr.Prog, hdr.Len = addr, addr+1, uint32(len(prog))
	if log {
		hdr.Log = 1
	}
	raw := RawOf(&hdr)[:unsafe.Offsetof(hdr.Insns)]
	for _, in := range prog {
		var b [8]byte
		binary.NativeEndian.PutUint16(b[0:], in.Code)
		b[2], b[3] = in.Jt, in.Jf
		binary.NativeEndian.PutUint32(b[4:], in.K)
		raw = append(raw, b[:]...)
	}
	return raw
}

// Ref is one filter of a stack: its address and FLAG_LOG bit.
type Ref struct {
	Addr uint64
	Log  bool
}

// ChainRecord is an ST_REC_CHAIN record of a stack, newest first; a
// decision names it by the first filter's address.
func ChainRecord(stack ...Ref) []byte {
	var r gen.SeccompStChain
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_CHAIN)
	r.Head, r.HeadProg, r.Depth = stack[0].Addr, stack[0].Addr+1, uint32(len(stack))
	for i, f := range stack {
		r.FilterAddr[i] = f.Addr
		if f.Log {
			r.FilterLog[i] = 1
		}
	}
	return RawOf(&r)
}
