// SPDX-License-Identifier: Apache-2.0

package cbpf

// KernelConst runs the kernel's action-cache emulator over prog for one
// syscall number and architecture, generalised to every action: it is
// seccomp_is_const_allow (kernel/seccomp.c, 5.11+) returning the RET K it
// reaches instead of comparing it with SECCOMP_RET_ALLOW. Like the kernel
// it knows only nr and arch: a load of any other word (the arguments, the
// instruction pointer), and any instruction besides LD|W|ABS, JA, the
// JMP|K comparisons, ALU|AND|K and RET|K, make it give up (ok false).
//
// seccomp_cache_prepare_bitmap sets a syscall's bit in a filter's cache
// when every filter of the stack gives ok with SECCOMP_RET_ALLOW exactly
// (data bits 0): see KernelCaches.
func KernelConst(prog []Instruction, nr int32, arch uint32) (ret uint32, ok bool) {
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		k := ins.K
		switch ins.Code {
		case opLdAbsW:
			switch k {
			case OffNr:
				a = uint32(nr)
			case OffArch:
				a = arch
			default:
				return 0, false
			}
		case opRetK:
			return k, true
		case opJa:
			pc += int(k)
		case opJeqK, opJgeK, opJgtK, opJsetK:
			if compare(ins.Code, a, k) {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case opAndK:
			a &= k
		default:
			return 0, false
		}
	}
	// Ran off the end: the kernel WARNs and does not cache.
	return 0, false
}

// KernelCaches reports whether the kernel's action cache (5.11+) allows
// syscall nr on arch without running the filters: every filter of the
// stack must be a constant SECCOMP_RET_ALLOW for it.
func KernelCaches(progs [][]Instruction, nr int32, arch uint32) bool {
	if len(progs) == 0 {
		return false
	}
	for _, p := range progs {
		if ret, ok := KernelConst(p, nr, arch); !ok || ret != retAllow {
			return false
		}
	}
	return true
}
