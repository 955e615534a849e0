// SPDX-License-Identifier: Apache-2.0

package sysnames

// The audit arches of an arm64 kernel: AArch64 syscalls, and AArch32
// (compat) ones.
const (
	Native = ArchAArch64
	Compat = ArchARM
)
