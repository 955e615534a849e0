// SPDX-License-Identifier: Apache-2.0

// Package cbpf runs seccomp classic-BPF filters in userspace with the
// semantics the Linux kernel gives them, so the observer can recompute a
// seccomp decision from a copy of the filters (docs/kernel-semantics.md §9).
//
// What the kernel admits is checked by Validate, which mirrors
// bpf_check_classic (net/core/filter.c) followed by seccomp_check_filter
// (kernel/seccomp.c). Run executes a program over struct seccomp_data the
// way the kernel's cBPF-to-eBPF conversion (bpf_convert_filter) does, and
// RunStack applies the stacking rule of seccomp_run_filters (§4).
//
// Semantics that differ from generic cBPF VMs such as golang.org/x/net/bpf:
//   - LD|W|ABS loads a native-endian (little-endian on x86) 32-bit word:
//     seccomp rewrites it into a direct eBPF load from seccomp_data instead
//     of the big-endian packet load.
//   - LD|W|LEN and LDX|W|LEN yield 64, sizeof(struct seccomp_data).
//   - DIV by X == 0 makes the whole program return 0: the converter emits
//     "if X == 0 { A = 0; exit }" before every DIV|X ("For cBPF programs,
//     this was always return 0"). DIV by constant 0 is refused at load.
//   - Shifts by X use the low 5 bits of X, as the eBPF interpreter
//     (DST = (u32) DST << ((u32) SRC & 31)) and the x86 JIT (shl r32, cl)
//     both do. Shifts by a constant >= 32 are refused at load.
//   - Conditional jumps compare A as an unsigned 32-bit value; constants
//     with bit 31 set are zero-extended by the converter, not sign-extended.
package cbpf

import (
	"encoding/binary"
	"fmt"
)

// Classic BPF opcode fields (include/uapi/linux/bpf_common.h).
const (
	ClassLD   = 0x00
	ClassLDX  = 0x01
	ClassST   = 0x02
	ClassSTX  = 0x03
	ClassALU  = 0x04
	ClassJMP  = 0x05
	ClassRET  = 0x06
	ClassMISC = 0x07

	SizeW = 0x00
	SizeH = 0x08
	SizeB = 0x10

	ModeIMM = 0x00
	ModeABS = 0x20
	ModeIND = 0x40
	ModeMEM = 0x60
	ModeLEN = 0x80
	ModeMSH = 0xa0

	OpADD = 0x00
	OpSUB = 0x10
	OpMUL = 0x20
	OpDIV = 0x30
	OpOR  = 0x40
	OpAND = 0x50
	OpLSH = 0x60
	OpRSH = 0x70
	OpNEG = 0x80
	OpMOD = 0x90
	OpXOR = 0xa0

	OpJA   = 0x00
	OpJEQ  = 0x10
	OpJGT  = 0x20
	OpJGE  = 0x30
	OpJSET = 0x40

	SrcK = 0x00
	SrcX = 0x08

	RetK = 0x00
	RetA = 0x10

	MiscTAX = 0x00
	MiscTXA = 0x80
)

// Limits the kernel enforces on seccomp filters.
const (
	// MaxInsns is BPF_MAXINSNS, the longest program seccomp accepts.
	MaxInsns = 4096
	// MemWords is BPF_MEMWORDS, the number of scratch cells M[].
	MemWords = 16
	// DataSize is sizeof(struct seccomp_data).
	DataSize = 64
)

// Seccomp return values RunStack needs; package policy has the full set.
const (
	retAllow       uint32 = 0x7fff0000
	retKillProcess uint32 = 0x80000000
	retActionFull  uint32 = 0xffff0000
)

// Instruction is one classic BPF instruction, laid out like the kernel's
// struct sock_filter.
type Instruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Stmt builds a non-jump instruction, like the BPF_STMT macro.
func Stmt(code uint16, k uint32) Instruction {
	return Instruction{Code: code, K: k}
}

// Jump builds a jump instruction, like the BPF_JUMP macro.
func Jump(code uint16, k uint32, jt, jf uint8) Instruction {
	return Instruction{Code: code, Jt: jt, Jf: jf, K: k}
}

// sockFilterSize is sizeof(struct sock_filter).
const sockFilterSize = 8

// DecodeProgram parses an array of struct sock_filter in native byte
// order, e.g. a filter copied out of kernel memory (docs/kernel-semantics.md §9).
func DecodeProgram(b []byte) ([]Instruction, error) {
	if len(b)%sockFilterSize != 0 {
		return nil, fmt.Errorf("decode program: length %d is not a multiple of %d", len(b), sockFilterSize)
	}
	prog := make([]Instruction, len(b)/sockFilterSize)
	for i := range prog {
		p := b[i*sockFilterSize:]
		prog[i] = Instruction{
			Code: binary.NativeEndian.Uint16(p[0:]),
			Jt:   p[2],
			Jf:   p[3],
			K:    binary.NativeEndian.Uint32(p[4:]),
		}
	}
	return prog, nil
}

// EncodeProgram is the inverse of DecodeProgram.
func EncodeProgram(prog []Instruction) []byte {
	b := make([]byte, len(prog)*sockFilterSize)
	for i, ins := range prog {
		p := b[i*sockFilterSize:]
		binary.NativeEndian.PutUint16(p[0:], ins.Code)
		p[2] = ins.Jt
		p[3] = ins.Jf
		binary.NativeEndian.PutUint32(p[4:], ins.K)
	}
	return b
}

// Data is struct seccomp_data, the input of a seccomp filter.
type Data struct {
	// Nr is the syscall number (with the x32 bit for x32 calls).
	Nr int32
	// Arch is the AUDIT_ARCH_* value.
	Arch uint32
	// IP is the instruction pointer at the time of the syscall.
	IP uint64
	// Args are the six syscall arguments, untruncated for 64-bit calls.
	Args [6]uint64
}

// Bytes returns d as the kernel lays it out: 64 bytes in native byte
// order, little-endian on x86.
func (d *Data) Bytes() [DataSize]byte {
	var b [DataSize]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(d.Nr))
	binary.NativeEndian.PutUint32(b[4:], d.Arch)
	binary.NativeEndian.PutUint64(b[8:], d.IP)
	for i, a := range d.Args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// ParseData decodes a native-endian struct seccomp_data, e.g. one captured
// by a BPF program. b must hold at least DataSize bytes.
func ParseData(b []byte) (Data, error) {
	if len(b) < DataSize {
		return Data{}, fmt.Errorf("parse seccomp_data: got %d bytes, need %d", len(b), DataSize)
	}
	d := Data{
		Nr:   int32(binary.NativeEndian.Uint32(b[0:])),
		Arch: binary.NativeEndian.Uint32(b[4:]),
		IP:   binary.NativeEndian.Uint64(b[8:]),
	}
	for i := range d.Args {
		d.Args[i] = binary.NativeEndian.Uint64(b[16+8*i:])
	}
	return d, nil
}
