// SPDX-License-Identifier: Apache-2.0

package cbpf

import (
	"slices"
)

// Offsets of struct seccomp_data fields a filter loads.
const (
	OffNr   = 0
	OffArch = 4
	OffIPLo = 8
	OffArgs = 16
)

// Input says which seccomp_data fields Explore may take as known; every
// other word (the instruction pointer, the arguments, and nr or arch when
// not given) can hold any value.
type Input struct {
	Nr       int32
	Arch     uint32
	KnowNr   bool
	KnowArch bool
}

// Outcomes is what a program can return over every seccomp_data that
// matches an Input.
type Outcomes struct {
	// Rets are the distinct values a RET can return, sorted. A program that
	// divides by an X that may be zero also returns 0 there (see Run).
	Rets []uint32
	// RetUnknown: a path ends in RET A with a value the analysis cannot
	// fix (computed from the arguments, say).
	RetUnknown bool
	// Depends is a bitmask of the 32-bit words of seccomp_data (bit i for
	// byte offset 4*i: 0 nr, 1 arch, 2-3 ip, 4-15 args lo/hi) on which a
	// path split or whose value reached a RET.
	Depends uint16
	// Arches are the constants compared with seccomp_data.arch (JEQ),
	// sorted: the architectures the filter tells apart.
	Arches []uint32
	// Incomplete: the program has more distinct paths than Explore follows
	// (MaxSteps); Rets and Arches then hold only what was found.
	Incomplete bool
}

// Constant reports whether every input gives the same return value, and
// which. A false answer may be conservative: paths are pruned only by the
// ranges of loaded words that comparisons establish, so a result that is
// constant for reasons beyond that (two contradictory tests on an
// argument, say) is reported as depending on the input.
func (o Outcomes) Constant() (uint32, bool) {
	if len(o.Rets) == 1 && !o.RetUnknown && !o.Incomplete {
		return o.Rets[0], true
	}
	return 0, false
}

// MaxSteps bounds the instructions Explore steps through, over all paths.
const MaxSteps = 1 << 20

// Kinds of abstract value.
const (
	valTop   = iota // anything
	valConst        // v
	valWord         // exactly data word v, within its range in state.lo/hi
)

type absVal struct {
	kind uint8
	v    uint32
	deps uint16 // the data words the value was computed from (Depends bits)
}

type absState struct {
	a, x   absVal
	mem    [MemWords]absVal
	lo, hi [DataSize / 4]uint32
}

type exploreKey struct {
	pc int
	st absState
}

type explorer struct {
	prog []Instruction
	// join marks instructions more than one edge leads to: only there can
	// two paths meet in the same state, so only there is a state remembered.
	join    []bool
	seen    map[exploreKey]bool
	steps   int
	rets    map[uint32]bool
	arches  map[uint32]bool
	out     Outcomes
	overrun bool
}

// Explore follows every path of prog from the Input, taking both branches
// of each jump the known values and the ranges established so far do not
// decide, and collects every value a RET can return. It expects a program
// that passed Validate; on any other it still terminates, treating what
// the kernel would refuse as Run does (return 0).
func Explore(prog []Instruction, in Input) Outcomes {
	e := &explorer{prog: prog, join: joins(prog), seen: map[exploreKey]bool{}, rets: map[uint32]bool{}, arches: map[uint32]bool{}}
	// The converter clears A and X first (bpf_convert_filter), as Run does.
	st := absState{a: absVal{kind: valConst}, x: absVal{kind: valConst}}
	for i := range st.hi {
		st.hi[i] = ^uint32(0)
	}
	if in.KnowNr {
		st.lo[OffNr/4], st.hi[OffNr/4] = uint32(in.Nr), uint32(in.Nr)
	}
	if in.KnowArch {
		st.lo[OffArch/4], st.hi[OffArch/4] = in.Arch, in.Arch
	}
	e.walk(0, st)
	for v := range e.rets {
		e.out.Rets = append(e.out.Rets, v)
	}
	slices.Sort(e.out.Rets)
	for v := range e.arches {
		e.out.Arches = append(e.out.Arches, v)
	}
	slices.Sort(e.out.Arches)
	e.out.Incomplete = e.overrun
	return e.out
}

func (e *explorer) ret(v uint32) { e.rets[v] = true }

// joins marks the instructions with more than one predecessor.
func joins(prog []Instruction) []bool {
	n := len(prog)
	preds := make([]uint8, n)
	edge := func(to int) {
		if to < n && preds[to] < 2 {
			preds[to]++
		}
	}
	for pc, ins := range prog {
		switch {
		case ins.Code == opJa:
			edge(pc + 1 + int(ins.K))
		case ins.Code&0x07 == ClassJMP:
			edge(pc + 1 + int(ins.Jt))
			if ins.Jf != ins.Jt {
				edge(pc + 1 + int(ins.Jf))
			}
		case ins.Code&0x07 == ClassRET:
		default:
			edge(pc + 1)
		}
	}
	out := make([]bool, n)
	for i, p := range preds {
		out[i] = p > 1
	}
	return out
}

// value resolves a word value to a constant where its range is one value.
func (st *absState) value(v absVal) absVal {
	if v.kind == valWord && st.lo[v.v] == st.hi[v.v] {
		return absVal{kind: valConst, v: st.lo[v.v], deps: v.deps}
	}
	return v
}

// narrow sets word w's range and folds values that became constant.
func (st *absState) narrow(w uint32, lo, hi uint32) {
	st.lo[w], st.hi[w] = lo, hi
	st.a, st.x = st.value(st.a), st.value(st.x)
	for i := range st.mem {
		st.mem[i] = st.value(st.mem[i])
	}
}

// walk explores from pc in state st; forward jumps only, so it ends.
func (e *explorer) walk(pc int, st absState) {
	n := len(e.prog)
	for ; pc < n; pc++ {
		if e.steps++; e.steps > MaxSteps {
			e.overrun = true
			return
		}
		if e.join[pc] {
			key := exploreKey{pc, st}
			if e.seen[key] {
				return
			}
			e.seen[key] = true
		}
		ins := e.prog[pc]
		k := ins.K
		switch ins.Code {
		case opLdAbsW:
			if k >= DataSize || k&3 != 0 {
				e.ret(0)
				return
			}
			st.a = st.value(absVal{kind: valWord, v: k / 4, deps: 1 << (k / 4)})
		case opLdLenW:
			st.a = absVal{kind: valConst, v: DataSize}
		case opLdxLenW:
			st.x = absVal{kind: valConst, v: DataSize}
		case opLdImm:
			st.a = absVal{kind: valConst, v: k}
		case opLdxImm:
			st.x = absVal{kind: valConst, v: k}
		case opLdMem, opLdxMem, opSt, opStx:
			if k >= MemWords {
				e.ret(0)
				return
			}
			switch ins.Code {
			case opLdMem:
				st.a = st.mem[k]
			case opLdxMem:
				st.x = st.mem[k]
			case opSt:
				st.mem[k] = st.a
			case opStx:
				st.mem[k] = st.x
			}
		case opTax:
			st.x = st.a
		case opTxa:
			st.a = st.x
		case opNeg:
			st.a = alu(st.a, absVal{kind: valConst}, func(a, _ uint32) uint32 { return -a })
		case opAddK, opAddX, opSubK, opSubX, opMulK, opMulX, opDivK, opDivX,
			opAndK, opAndX, opOrK, opOrX, opXorK, opXorX, opLshK, opLshX, opRshK, opRshX:
			src := absVal{kind: valConst, v: k}
			if ins.Code&SrcX != 0 {
				src = st.x
			}
			if ins.Code&0xf0 == OpDIV {
				switch {
				case src.kind == valConst && src.v == 0:
					e.ret(0) // the converter's "return 0" on division by zero
					return
				case src.kind != valConst:
					e.ret(0) // X may be zero on this path
					e.out.Depends |= src.deps
				}
			}
			st.a = alu(st.a, src, aluOp(ins.Code&0xf0))
		case opJa:
			if uint64(k) >= uint64(n-pc-1) {
				e.ret(0)
				return
			}
			pc += int(k)
		case opJeqK, opJeqX, opJgtK, opJgtX, opJgeK, opJgeX, opJsetK, opJsetX:
			if pc+int(ins.Jt)+1 >= n || pc+int(ins.Jf)+1 >= n {
				e.ret(0)
				return
			}
			e.jump(pc, ins, st)
			return
		case opRetK:
			e.ret(k)
			return
		case opRetA:
			if st.a.kind == valConst {
				e.ret(st.a.v)
			} else {
				e.out.RetUnknown = true
				e.out.Depends |= st.a.deps
			}
			return
		default:
			e.ret(0)
			return
		}
	}
	e.ret(0) // off the end: refused at load, 0 in Run
}

// jump explores the branches of a conditional jump that can be taken.
func (e *explorer) jump(pc int, ins Instruction, st absState) {
	op := ins.Code &^ SrcX
	src := absVal{kind: valConst, v: ins.K}
	if ins.Code&SrcX != 0 {
		src = st.x
	}
	a := st.a
	if a.kind == valWord && a.v == OffArch/4 && op == opJeqK && src.kind == valConst {
		e.arches[src.v] = true
	}
	// Both known: one branch.
	if a.kind == valConst && src.kind == valConst {
		e.walkAt(pc, ins, compare(op, a.v, src.v), st)
		return
	}
	if a.kind == valWord && src.kind == valConst {
		w, k := a.v, src.v
		lo, hi := st.lo[w], st.hi[w]
		var (
			canT, canF bool
			tLo, tHi   = lo, hi
			fLo, fHi   = lo, hi
			refine     = true
		)
		switch op {
		case opJeqK:
			canT, canF = k >= lo && k <= hi, !(lo == k && hi == k)
			tLo, tHi = k, k
			switch {
			case k == lo && lo < hi:
				fLo = lo + 1
			case k == hi && lo < hi:
				fHi = hi - 1
			}
		case opJgtK:
			canT, canF = hi > k, lo <= k
			if canT && canF {
				tLo, fHi = k+1, k
			}
		case opJgeK:
			canT, canF = hi >= k, lo < k
			if canT && canF {
				tLo, fHi = k, k-1
			}
		case opJsetK:
			canT, canF, refine = true, true, false
		}
		if canT && canF {
			e.out.Depends |= 1 << w
		}
		if canT {
			t := st
			if refine {
				t.narrow(w, tLo, tHi)
			}
			e.walkAt(pc, ins, true, t)
		}
		if canF {
			f := st
			if refine {
				f.narrow(w, fLo, fHi)
			}
			e.walkAt(pc, ins, false, f)
		}
		return
	}
	e.out.Depends |= a.deps | src.deps
	e.walkAt(pc, ins, true, st)
	e.walkAt(pc, ins, false, st)
}

func (e *explorer) walkAt(pc int, ins Instruction, taken bool, st absState) {
	off := int(ins.Jf)
	if taken {
		off = int(ins.Jt)
	}
	e.walk(pc+1+off, st)
}

func compare(op uint16, a, b uint32) bool {
	switch op {
	case opJeqK:
		return a == b
	case opJgtK:
		return a > b
	case opJgeK:
		return a >= b
	case opJsetK:
		return a&b != 0
	}
	return false
}

func aluOp(op uint16) func(a, b uint32) uint32 {
	switch op {
	case OpADD:
		return func(a, b uint32) uint32 { return a + b }
	case OpSUB:
		return func(a, b uint32) uint32 { return a - b }
	case OpMUL:
		return func(a, b uint32) uint32 { return a * b }
	case OpDIV:
		return func(a, b uint32) uint32 { return a / b }
	case OpAND:
		return func(a, b uint32) uint32 { return a & b }
	case OpOR:
		return func(a, b uint32) uint32 { return a | b }
	case OpXOR:
		return func(a, b uint32) uint32 { return a ^ b }
	case OpLSH:
		return func(a, b uint32) uint32 { return a << (b & 31) }
	case OpRSH:
		return func(a, b uint32) uint32 { return a >> (b & 31) }
	}
	return func(a, b uint32) uint32 { return 0 }
}

// alu applies op when both operands are known; anything else is unknown,
// computed from the words both came from.
func alu(a, b absVal, op func(a, b uint32) uint32) absVal {
	if a.kind == valConst && b.kind == valConst {
		return absVal{kind: valConst, v: op(a.v, b.v), deps: a.deps | b.deps}
	}
	return absVal{kind: valTop, deps: a.deps | b.deps}
}
