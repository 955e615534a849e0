// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// skipSyscall sets the stopped tracee's syscall number to -1: skip it (§3).
func skipSyscall(tid int) error {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return fmt.Errorf("reading tracee registers: %w", err)
	}
	regs.Orig_rax = ^uint64(0)
	if err := unix.PtraceSetRegs(tid, &regs); err != nil {
		return fmt.Errorf("writing tracee registers: %w", err)
	}
	return nil
}
