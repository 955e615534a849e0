// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ntARMSystemCall is NT_ARM_SYSTEM_CALL: arm64's syscallno is not in the
// general registers ptrace hands out, only in this regset.
const ntARMSystemCall = 0x404

// skipSyscall sets the stopped tracee's syscall number to -1: skip it (§3).
func skipSyscall(tid int) error {
	nr := int32(-1)
	iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(&nr)), Len: uint64(unsafe.Sizeof(nr))}
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), ntARMSystemCall, uintptr(unsafe.Pointer(&iov)), 0, 0); errno != 0 {
		return fmt.Errorf("setting tracee syscall number (NT_ARM_SYSTEM_CALL): %w", errno)
	}
	return nil
}
