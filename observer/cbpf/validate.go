// SPDX-License-Identifier: Apache-2.0

package cbpf

import "fmt"

// Full opcodes used by the checker and the interpreter.
const (
	opLdAbsW  = ClassLD | SizeW | ModeABS
	opLdAbsH  = ClassLD | SizeH | ModeABS
	opLdAbsB  = ClassLD | SizeB | ModeABS
	opLdIndW  = ClassLD | SizeW | ModeIND
	opLdIndH  = ClassLD | SizeH | ModeIND
	opLdIndB  = ClassLD | SizeB | ModeIND
	opLdLenW  = ClassLD | SizeW | ModeLEN
	opLdImm   = ClassLD | ModeIMM
	opLdMem   = ClassLD | ModeMEM
	opLdxLenW = ClassLDX | SizeW | ModeLEN
	opLdxMshB = ClassLDX | SizeB | ModeMSH
	opLdxImm  = ClassLDX | ModeIMM
	opLdxMem  = ClassLDX | ModeMEM
	opSt      = ClassST
	opStx     = ClassSTX
	opTax     = ClassMISC | MiscTAX
	opTxa     = ClassMISC | MiscTXA
	opRetK    = ClassRET | RetK
	opRetA    = ClassRET | RetA
	opJa      = ClassJMP | OpJA
	opJeqK    = ClassJMP | OpJEQ | SrcK
	opJeqX    = ClassJMP | OpJEQ | SrcX
	opJgtK    = ClassJMP | OpJGT | SrcK
	opJgtX    = ClassJMP | OpJGT | SrcX
	opJgeK    = ClassJMP | OpJGE | SrcK
	opJgeX    = ClassJMP | OpJGE | SrcX
	opJsetK   = ClassJMP | OpJSET | SrcK
	opJsetX   = ClassJMP | OpJSET | SrcX
	opAddK    = ClassALU | OpADD | SrcK
	opAddX    = ClassALU | OpADD | SrcX
	opSubK    = ClassALU | OpSUB | SrcK
	opSubX    = ClassALU | OpSUB | SrcX
	opMulK    = ClassALU | OpMUL | SrcK
	opMulX    = ClassALU | OpMUL | SrcX
	opDivK    = ClassALU | OpDIV | SrcK
	opDivX    = ClassALU | OpDIV | SrcX
	opModK    = ClassALU | OpMOD | SrcK
	opModX    = ClassALU | OpMOD | SrcX
	opAndK    = ClassALU | OpAND | SrcK
	opAndX    = ClassALU | OpAND | SrcX
	opOrK     = ClassALU | OpOR | SrcK
	opOrX     = ClassALU | OpOR | SrcX
	opXorK    = ClassALU | OpXOR | SrcK
	opXorX    = ClassALU | OpXOR | SrcX
	opLshK    = ClassALU | OpLSH | SrcK
	opLshX    = ClassALU | OpLSH | SrcX
	opRshK    = ClassALU | OpRSH | SrcK
	opRshX    = ClassALU | OpRSH | SrcX
	opNeg     = ClassALU | OpNEG
)

// classicCodes is chk_code_allowed's table in bpf_check_classic: every
// opcode a classic socket filter may use.
var classicCodes = map[uint16]bool{
	opAddK: true, opAddX: true, opSubK: true, opSubX: true,
	opMulK: true, opMulX: true, opDivK: true, opDivX: true,
	opModK: true, opModX: true, opAndK: true, opAndX: true,
	opOrK: true, opOrX: true, opXorK: true, opXorX: true,
	opLshK: true, opLshX: true, opRshK: true, opRshX: true,
	opNeg:    true,
	opLdAbsW: true, opLdAbsH: true, opLdAbsB: true, opLdLenW: true,
	opLdIndW: true, opLdIndH: true, opLdIndB: true,
	opLdImm: true, opLdMem: true,
	opLdxLenW: true, opLdxMshB: true, opLdxImm: true, opLdxMem: true,
	opSt: true, opStx: true, opTax: true, opTxa: true,
	opRetK: true, opRetA: true,
	opJa: true, opJeqK: true, opJeqX: true, opJgeK: true, opJgeX: true,
	opJgtK: true, opJgtX: true, opJsetK: true, opJsetX: true,
}

// seccompCodes is seccomp_check_filter's allow list: the classic opcodes
// minus MOD, the packet loads (H/B ABS, IND, MSH); LD|W|ABS and the LEN
// loads are allowed but rewritten by the kernel.
var seccompCodes = map[uint16]bool{
	opLdAbsW: true, opLdLenW: true, opLdxLenW: true,
	opRetK: true, opRetA: true,
	opAddK: true, opAddX: true, opSubK: true, opSubX: true,
	opMulK: true, opMulX: true, opDivK: true, opDivX: true,
	opAndK: true, opAndX: true, opOrK: true, opOrX: true,
	opXorK: true, opXorX: true, opLshK: true, opLshX: true,
	opRshK: true, opRshX: true, opNeg: true,
	opLdImm: true, opLdxImm: true, opTax: true, opTxa: true,
	opLdMem: true, opLdxMem: true, opSt: true, opStx: true,
	opJa: true, opJeqK: true, opJeqX: true, opJgeK: true, opJgeX: true,
	opJgtK: true, opJgtX: true, opJsetK: true, opJsetX: true,
}

// ValidationError says why the kernel would refuse a filter with EINVAL.
type ValidationError struct {
	// PC is the index of the offending instruction, or -1 when the
	// program as a whole is at fault.
	PC int
	// Reason describes the problem.
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.PC < 0 {
		return "validate filter: " + e.Reason
	}
	return fmt.Sprintf("validate filter: instruction %d: %s", e.PC, e.Reason)
}

func invalid(pc int, format string, args ...any) error {
	return &ValidationError{PC: pc, Reason: fmt.Sprintf(format, args...)}
}

// Validate reports whether the kernel would accept prog as a seccomp
// filter, returning a *ValidationError if not. It applies, in the kernel's
// order, the length check of seccomp_prepare_filter, bpf_check_classic
// (known opcode, constant divisor != 0, constant shift < 32, scratch index
// < 16, jumps inside the program, last instruction a RET, no scratch cell
// read before it is written on every path) and seccomp_check_filter
// (seccomp opcode allow list, LD|W|ABS offset aligned and < 64).
//
// The kernel's checks only depend on the program, so a program Validate
// accepts loads on every kernel from 4.14 on (the constant-shift check is
// from current sources; an older kernel that lacked it would accept more).
func Validate(prog []Instruction) error {
	flen := len(prog)
	if flen == 0 || flen > MaxInsns {
		return invalid(-1, "length %d outside 1..%d", flen, MaxInsns)
	}
	// bpf_check_classic.
	for pc, ins := range prog {
		if !classicCodes[ins.Code] {
			return invalid(pc, "unknown opcode %#04x", ins.Code)
		}
		switch ins.Code {
		case opDivK, opModK:
			if ins.K == 0 {
				return invalid(pc, "division by constant zero")
			}
		case opLshK, opRshK:
			if ins.K >= 32 {
				return invalid(pc, "shift by constant %d >= 32", ins.K)
			}
		case opLdMem, opLdxMem, opSt, opStx:
			if ins.K >= MemWords {
				return invalid(pc, "scratch index %d >= %d", ins.K, MemWords)
			}
		case opJa:
			if uint64(ins.K) >= uint64(flen-pc-1) {
				return invalid(pc, "jump offset %d past the end", ins.K)
			}
		case opJeqK, opJeqX, opJgeK, opJgeX, opJgtK, opJgtX, opJsetK, opJsetX:
			if pc+int(ins.Jt)+1 >= flen || pc+int(ins.Jf)+1 >= flen {
				return invalid(pc, "jump offsets %d/%d past the end", ins.Jt, ins.Jf)
			}
		}
		// bpf_check_classic also refuses LD|ABS with an unknown ancillary
		// offset (k >= SKF_AD_OFF). seccomp_check_filter below refuses
		// every k >= 64, so that check cannot change the outcome.
	}
	if last := prog[flen-1].Code; last != opRetK && last != opRetA {
		return invalid(flen-1, "last instruction %#04x is not a RET", last)
	}
	if err := checkLoadAndStores(prog); err != nil {
		return err
	}
	// seccomp_check_filter.
	for pc, ins := range prog {
		if !seccompCodes[ins.Code] {
			return invalid(pc, "opcode %#04x not allowed in seccomp filters", ins.Code)
		}
		if ins.Code == opLdAbsW && (ins.K >= DataSize || ins.K&3 != 0) {
			return invalid(pc, "load offset %d not an aligned word inside seccomp_data", ins.K)
		}
	}
	return nil
}

// checkLoadAndStores mirrors check_load_and_stores: a scratch cell may be
// read only if it was written on every path leading to the read. Because
// jumps only go forward, one pass with per-target masks suffices.
func checkLoadAndStores(prog []Instruction) error {
	masks := make([]uint16, len(prog))
	for i := range masks {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, ins := range prog {
		valid &= masks[pc]
		switch ins.Code {
		case opSt, opStx:
			valid |= 1 << ins.K
		case opLdMem, opLdxMem:
			if valid&(1<<ins.K) == 0 {
				return invalid(pc, "scratch cell M[%d] may be read before it is written", ins.K)
			}
		case opJa:
			masks[pc+1+int(ins.K)] &= valid
			valid = 0xffff
		case opJeqK, opJeqX, opJgeK, opJgeX, opJgtK, opJgtX, opJsetK, opJsetX:
			masks[pc+1+int(ins.Jt)] &= valid
			masks[pc+1+int(ins.Jf)] &= valid
			valid = 0xffff
		}
	}
	return nil
}
