// SPDX-License-Identifier: Apache-2.0

package workload

import "golang.org/x/sys/unix"

// NrGetpgrp is the harmless syscall the barriers, floods and tests filter.
// arm64 has no getpgrp (asm-generic dropped it): getpgid, which the calls
// make with pid 0, asks the same question.
const NrGetpgrp = unix.SYS_GETPGID

// CompatLabel names the compat cases ("compat/aarch32: ..."); CompatWhat is
// what a kernel without them lacks.
const (
	CompatLabel = "aarch32"
	CompatWhat  = "AArch32 syscalls"
)
