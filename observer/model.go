// SPDX-License-Identifier: Apache-2.0

package observer

import "github.com/seccomptrace/seccomptrace/observer/policy"

// Model is the logging model of the kernel the plan was made for, from the
// emission symbol it has (docs/kernel-semantics.md §5.1): __audit_seccomp
// before 4.18, audit_seccomp from 4.18.
func (p Plan) Model() policy.Model {
	if p.EmissionSym == "__audit_seccomp" {
		return policy.ModelPre418
	}
	return policy.ModelPost418
}

// KernelModel is the logging model of the running kernel, from the same
// emission symbol Discover chooses, without loading anything: audit_seccomp
// from 4.18, __audit_seccomp before. ok is false when the kernel has
// neither (no CONFIG_AUDITSYSCALL), or its symbols cannot be read.
func KernelModel() (m policy.Model, ok bool) {
	for _, sym := range []string{"audit_seccomp", "__audit_seccomp"} {
		if inBTF, inSyms, _ := symbolState(sym); inBTF || inSyms {
			return Plan{EmissionSym: sym}.Model(), true
		}
	}
	return policy.ModelPost418, false
}
