// SPDX-License-Identifier: Apache-2.0

package sysnames

// The audit arches of an x86_64 kernel: 64-bit syscalls, and ia32 ones.
const (
	Native = ArchX8664
	Compat = ArchI386
)
