// SPDX-License-Identifier: Apache-2.0

package workload

import "golang.org/x/sys/unix"

// NrGetpgrp is the harmless syscall the barriers, floods and tests filter:
// getpgrp.
const NrGetpgrp = unix.SYS_GETPGRP

// CompatLabel names the compat cases ("compat/int80: ..."); CompatWhat is
// what a kernel without them lacks.
const (
	CompatLabel = "int80"
	CompatWhat  = "int $0x80 syscalls"
)
