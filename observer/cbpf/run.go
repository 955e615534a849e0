// SPDX-License-Identifier: Apache-2.0

package cbpf

import "encoding/binary"

// Run executes prog over d and returns the filter's 32-bit return value,
// with the semantics described in the package documentation.
//
// Run expects a program that passed Validate; it does not check it again,
// so it can run once per syscall event. On any other program it still
// never panics and always terminates (jumps only go forward): whatever the
// kernel would have refused at load time (an unknown opcode, an
// out-of-range load or scratch index, a jump past the end, falling off the
// end) makes Run return 0.
func Run(prog []Instruction, d *Data) uint32 {
	buf := d.Bytes()
	return run(prog, &buf)
}

func run(prog []Instruction, data *[DataSize]byte) uint32 {
	var (
		a, x uint32
		// The kernel does not clear M[]; check_load_and_stores makes
		// reading a cell before writing it impossible, so zero is as good
		// as any initial value for a validated program.
		mem [MemWords]uint32
	)
	n := len(prog)
	for pc := 0; pc < n; pc++ {
		ins := prog[pc]
		k := ins.K
		switch ins.Code {
		case opLdAbsW:
			// seccomp_check_filter turns this into a direct 32-bit load
			// from seccomp_data: native byte order, not network order.
			if k >= DataSize || k&3 != 0 {
				return 0
			}
			a = binary.NativeEndian.Uint32(data[k:])
		case opLdLenW:
			a = DataSize
		case opLdxLenW:
			x = DataSize
		case opLdImm:
			a = k
		case opLdxImm:
			x = k
		case opLdMem:
			if k >= MemWords {
				return 0
			}
			a = mem[k]
		case opLdxMem:
			if k >= MemWords {
				return 0
			}
			x = mem[k]
		case opSt:
			if k >= MemWords {
				return 0
			}
			mem[k] = a
		case opStx:
			if k >= MemWords {
				return 0
			}
			mem[k] = x
		case opTax:
			x = a
		case opTxa:
			a = x

		case opAddK:
			a += k
		case opAddX:
			a += x
		case opSubK:
			a -= k
		case opSubX:
			a -= x
		case opMulK:
			a *= k
		case opMulX:
			a *= x
		case opDivK:
			if k == 0 { // refused by bpf_check_classic
				return 0
			}
			a /= k
		case opDivX:
			// bpf_convert_filter: "Error with exception code on div/mod
			// by 0. For cBPF programs, this was always return 0."
			if x == 0 {
				return 0
			}
			a /= x
		case opAndK:
			a &= k
		case opAndX:
			a &= x
		case opOrK:
			a |= k
		case opOrX:
			a |= x
		case opXorK:
			a ^= k
		case opXorX:
			a ^= x
		case opLshK:
			// k >= 32 is refused at load; masking matches x86 hardware.
			a <<= k & 31
		case opLshX:
			// eBPF ALU32 shift by register uses the low 5 bits.
			a <<= x & 31
		case opRshK:
			a >>= k & 31
		case opRshX:
			a >>= x & 31
		case opNeg:
			a = -a

		case opJa:
			if uint64(k) >= uint64(n-pc-1) {
				return 0
			}
			pc += int(k)
		case opJeqK, opJeqX, opJgtK, opJgtX, opJgeK, opJgeX, opJsetK, opJsetX:
			v := k
			if ins.Code&SrcX != 0 {
				v = x
			}
			var taken bool
			switch ins.Code &^ SrcX {
			case opJeqK:
				taken = a == v
			case opJgtK:
				taken = a > v
			case opJgeK:
				taken = a >= v
			case opJsetK:
				taken = a&v != 0
			}
			off := int(ins.Jf)
			if taken {
				off = int(ins.Jt)
			}
			pc += off // the loop adds the 1

		case opRetK:
			return k
		case opRetA:
			return a

		default:
			// MOD, packet loads and unknown opcodes: not admitted by
			// seccomp_check_filter.
			return 0
		}
	}
	return 0
}

// Filter is one attached seccomp filter.
type Filter struct {
	// Prog is the filter as the user supplied it (the kernel's orig_prog).
	Prog []Instruction
	// Log is the filter's SECCOMP_FILTER_FLAG_LOG flag (seccomp_filter.log).
	Log bool
}

// RunStack evaluates a task's filter stack like seccomp_run_filters
// (docs/kernel-semantics.md §4). filters must be ordered newest first, the order
// of current->seccomp.filter and its ->prev chain.
//
// Every filter runs. Starting from ret = SECCOMP_RET_ALLOW and no match,
// a filter's value replaces ret, and its index becomes match, only if its
// action (value & 0xffff0000, compared as int32) is strictly lower. So:
//   - KILL_PROCESS (0x80000000, negative) beats everything;
//   - on equal actions the newest filter wins, with its own data bits;
//   - when every filter returns ALLOW (with any data bits) the result is
//     exactly 0x7fff0000 and match is -1 (the kernel's NULL match), which
//     also means requested == false for logging (§3).
//
// An empty stack returns SECCOMP_RET_KILL_PROCESS with match -1, as the
// kernel does after WARN_ON(f == NULL).
//
// The action cache of 5.11+ is not modelled; it can only return ALLOW for
// a syscall every filter allows unconditionally, which RunStack also gives.
func RunStack(filters []Filter, d *Data) (ret uint32, match int) {
	if len(filters) == 0 {
		return retKillProcess, -1
	}
	buf := d.Bytes()
	ret, match = retAllow, -1
	for i := range filters {
		cur := run(filters[i].Prog, &buf)
		if int32(cur&retActionFull) < int32(ret&retActionFull) {
			ret, match = cur, i
		}
	}
	return ret, match
}

// RequestedLog returns the `requested` argument the kernel passes to
// seccomp_log on the skip path: match ? match->log : false (§3).
func RequestedLog(filters []Filter, match int) bool {
	return match >= 0 && match < len(filters) && filters[match].Log
}
