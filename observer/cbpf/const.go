// SPDX-License-Identifier: Apache-2.0

package cbpf

import "encoding/binary"

// constBudget bounds the paths ConstResult explores: a program past it is
// reported as not constant, which only costs a streamed decision.
const constBudget = 1 << 16

// word is a 32-bit value that is known, or depends on the arguments or
// the instruction pointer.
type word struct {
	v     uint32
	known bool
}

type constState struct {
	a, x word
	mem  [MemWords]word
}

// ConstResult reports whether prog returns the same value for every
// seccomp_data of this arch and nr, whatever the arguments and instruction
// pointer, and that value. It follows both ways of every jump on a value
// it does not know. The kernel's action cache (seccomp_cache_prepare_bitmap)
// asks the narrower question "always ALLOW"; this one accepts any constant,
// so that a flood of identical decisions needs no record per call.
func ConstResult(prog []Instruction, arch uint32, nr int32) (uint32, bool) {
	var data [DataSize]byte
	binary.NativeEndian.PutUint32(data[0:], uint32(nr))
	binary.NativeEndian.PutUint32(data[4:], arch)
	c := constRun{prog: prog, data: &data, budget: constBudget}
	c.walk(0, constState{})
	return c.ret, c.ok && !c.varies
}

type constRun struct {
	prog   []Instruction
	data   *[DataSize]byte
	budget int
	ret    uint32
	ok     bool // a return was seen
	varies bool // returns differ, or depend on the unknown words
}

// finish records one path's return.
func (c *constRun) finish(v word) {
	switch {
	case !v.known:
		c.varies = true
	case !c.ok:
		c.ret, c.ok = v.v, true
	case c.ret != v.v:
		c.varies = true
	}
}

func (c *constRun) walk(pc int, st constState) {
	n := len(c.prog)
	for ; pc < n && !c.varies; pc++ {
		if c.budget--; c.budget < 0 {
			c.varies = true
			return
		}
		ins := c.prog[pc]
		k := ins.K
		kw := word{k, true}
		switch ins.Code {
		case opLdAbsW:
			switch {
			case k >= DataSize || k&3 != 0:
				c.finish(word{0, true})
				return
			case k < 8: // nr and arch
				st.a = word{binary.NativeEndian.Uint32(c.data[k:]), true}
			default: // instruction pointer and arguments
				st.a = word{}
			}
		case opLdLenW:
			st.a = word{DataSize, true}
		case opLdxLenW:
			st.x = word{DataSize, true}
		case opLdImm:
			st.a = kw
		case opLdxImm:
			st.x = kw
		case opLdMem, opLdxMem, opSt, opStx:
			if k >= MemWords {
				c.finish(word{0, true})
				return
			}
			switch ins.Code {
			case opLdMem:
				st.a = st.mem[k]
			case opLdxMem:
				st.x = st.mem[k]
			case opSt:
				st.mem[k] = st.a
			default:
				st.mem[k] = st.x
			}
		case opTax:
			st.x = st.a
		case opTxa:
			st.a = st.x
		case opDivK, opDivX:
			// A zero divisor ends the filter with 0 (bpf_convert_filter);
			// one that may be zero is one more way to return 0.
			div := kw
			if ins.Code == opDivX {
				div = st.x
			}
			if div.known && div.v == 0 {
				c.finish(word{0, true})
				return
			}
			if !div.known {
				c.finish(word{0, true})
				st.a = word{}
				continue
			}
			st.a = alu(opDivK, st.a, div)
		case opJa:
			if uint64(k) >= uint64(n-pc-1) {
				c.finish(word{0, true})
				return
			}
			pc += int(k)
		case opJeqK, opJeqX, opJgtK, opJgtX, opJgeK, opJgeX, opJsetK, opJsetX:
			v := kw
			if ins.Code&SrcX != 0 {
				v = st.x
			}
			if st.a.known && v.known {
				if jump(ins.Code&^SrcX, st.a.v, v.v) {
					pc += int(ins.Jt)
				} else {
					pc += int(ins.Jf)
				}
				continue
			}
			c.walk(pc+1+int(ins.Jt), st)
			pc += int(ins.Jf)
		case opRetK:
			c.finish(kw)
			return
		case opRetA:
			c.finish(st.a)
			return
		default:
			if isALU(ins.Code) {
				src := kw
				if ins.Code&SrcX != 0 {
					src = st.x
				}
				st.a = alu(ins.Code, st.a, src)
				continue
			}
			c.finish(word{0, true}) // not admitted by seccomp_check_filter: run gives 0
			return
		}
	}
	if pc >= n && !c.varies {
		c.finish(word{0, true}) // falling off the end
	}
}

func jump(op uint16, a, v uint32) bool {
	switch op {
	case opJeqK:
		return a == v
	case opJgtK:
		return a > v
	case opJgeK:
		return a >= v
	}
	return a&v != 0 // opJsetK
}

func isALU(code uint16) bool {
	switch code {
	case opAddK, opAddX, opSubK, opSubX, opMulK, opMulX, opAndK, opAndX,
		opOrK, opOrX, opXorK, opXorX, opLshK, opLshX, opRshK, opRshX, opNeg:
		return true
	}
	return false
}

// alu applies one ALU instruction as run does (code's K or X form alike,
// src its operand); an unknown operand gives an unknown result.
func alu(code uint16, a, src word) word {
	if code == opNeg {
		return word{-a.v, a.known}
	}
	if !a.known || !src.known {
		return word{}
	}
	k := src.v
	switch code &^ SrcX {
	case opAddK:
		return word{a.v + k, true}
	case opSubK:
		return word{a.v - k, true}
	case opMulK:
		return word{a.v * k, true}
	case opDivK:
		return word{a.v / k, true} // k != 0: walk ends the path on a zero divisor
	case opAndK:
		return word{a.v & k, true}
	case opOrK:
		return word{a.v | k, true}
	case opXorK:
		return word{a.v ^ k, true}
	case opLshK:
		return word{a.v << (k & 31), true}
	case opRshK:
		return word{a.v >> (k & 31), true}
	}
	return word{}
}

// ConstStack is ConstResult for a filter stack, newest first: every filter
// must be constant, and they combine as RunStack combines them. match is
// the deciding filter's index, -1 for ALLOW.
func ConstStack(filters []Filter, arch uint32, nr int32) (ret uint32, match int, ok bool) {
	if len(filters) == 0 {
		return 0, -1, false
	}
	ret, match = retAllow, -1
	for i := range filters {
		cur, ok := ConstResult(filters[i].Prog, arch, nr)
		if !ok {
			return 0, -1, false
		}
		if int32(cur&retActionFull) < int32(ret&retActionFull) {
			ret, match = cur, i
		}
	}
	return ret, match, true
}
