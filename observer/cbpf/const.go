// SPDX-License-Identifier: Apache-2.0

package cbpf

// ConstResult reports whether prog returns the same value for every
// seccomp_data of this arch and nr, whatever the arguments and the
// instruction pointer, and that value (Explore). The kernel's action cache
// asks the narrower question "always ALLOW" (KernelConst); this one
// accepts any constant, so that a flood of identical decisions needs no
// record per call. A false answer may be conservative, never the reverse.
func ConstResult(prog []Instruction, arch uint32, nr int32) (uint32, bool) {
	return Explore(prog, Input{Nr: nr, Arch: arch, KnowNr: true, KnowArch: true}).Constant()
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
