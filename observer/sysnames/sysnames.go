// SPDX-License-Identifier: Apache-2.0

// Package sysnames maps syscall numbers to kernel syscall names and back,
// for the audit architectures an x86_64 kernel (x86_64, i386) or an arm64
// kernel (aarch64, arm) reports in seccomp_data.arch and in AUDIT_SECCOMP
// records (docs/kernel-semantics.md §9). Native and Compat name the two of
// the architecture this binary was built for.
//
// The tables are generated from golang.org/x/sys/unix (see mktables.go).
// x/sys can lag the newest kernel syscalls; numbers it does not know yet
// are printed as "syscall_<nr>".
package sysnames

//go:generate go run mktables.go

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Audit architecture values (linux/audit.h) as seen in seccomp_data.arch.
const (
	// ArchX8664 is AUDIT_ARCH_X86_64: native 64-bit and x32 syscalls.
	ArchX8664 uint32 = 0xc000003e
	// ArchI386 is AUDIT_ARCH_I386: int 0x80, sysenter and 32-bit tasks.
	ArchI386 uint32 = 0x40000003
	// ArchAArch64 is AUDIT_ARCH_AARCH64: native arm64 syscalls.
	ArchAArch64 uint32 = 0xc00000b7
	// ArchARM is AUDIT_ARCH_ARM: AArch32 (compat) tasks on an arm64 kernel.
	ArchARM uint32 = 0x40000028
)

// X32Bit is __X32_SYSCALL_BIT: x32 syscalls arrive with
// arch == ArchX8664 and this bit set in nr (docs/kernel-semantics.md §9).
const X32Bit int32 = 0x40000000

// x32Suffix marks names of x32 syscalls.
const x32Suffix = "(x32)"

// unknownPrefix starts the name given to numbers missing from the tables.
const unknownPrefix = "syscall_"

// namesX32 holds the x32-only numbers 512-547 of
// arch/x86/entry/syscalls/syscall_64.tbl. x/sys has no x32 table, and below
// 512 x32 shares the x86_64 numbering.
var namesX32 = map[int32]string{
	512: "rt_sigaction", 513: "rt_sigreturn", 514: "ioctl", 515: "readv",
	516: "writev", 517: "recvfrom", 518: "sendmsg", 519: "recvmsg",
	520: "execve", 521: "ptrace", 522: "rt_sigpending", 523: "rt_sigtimedwait",
	524: "rt_sigqueueinfo", 525: "sigaltstack", 526: "timer_create", 527: "mq_notify",
	528: "kexec_load", 529: "waitid", 530: "set_robust_list", 531: "get_robust_list",
	532: "vmsplice", 533: "move_pages", 534: "preadv", 535: "pwritev",
	536: "rt_tgsigqueueinfo", 537: "recvmmsg", 538: "sendmmsg", 539: "process_vm_readv",
	540: "process_vm_writev", 541: "setsockopt", 542: "getsockopt", 543: "io_setup",
	544: "io_submit", 545: "execveat", 546: "preadv2", 547: "pwritev2",
}

// Reverse tables, built once from the generated maps.
var (
	numbersX8664 = invert(namesX8664)
	numbersI386  = invert(namesI386)
	numbersX32   = invert(namesX32)
	numbersA64   = invert(namesAArch64)
	numbersARM   = invert(namesARM)
)

// Forward tables indexed by number, built once, so that naming a syscall
// in a stream of decisions is an index and never allocates; x32 names
// carry their suffix already.
var (
	byNrX8664 = bySlice(namesX8664)
	byNrI386  = bySlice(namesI386)
	byNrX32   = x32Names()
	byNrA64   = bySlice(namesAArch64)
	byNrARM   = bySlice(namesARM)
)

func invert(m map[int32]string) map[string]int32 {
	out := make(map[string]int32, len(m))
	for nr, name := range m {
		// Keep the lowest number if a name ever repeats, so the result
		// does not depend on map iteration order.
		if old, ok := out[name]; !ok || nr < old {
			out[name] = nr
		}
	}
	return out
}

func bySlice(m map[int32]string) []string {
	var out []string
	for nr, name := range m {
		if nr < 0 {
			continue
		}
		for int(nr) >= len(out) {
			out = append(out, "")
		}
		out[nr] = name
	}
	return out
}

// x32Names holds the x32 syscall names, suffixed: namesX32, and below 512
// the x86_64 names x32 shares.
func x32Names() []string {
	out := make([]string, 548)
	for nr, name := range namesX8664 {
		if nr >= 0 && nr < 512 {
			out[nr] = name + x32Suffix
		}
	}
	for nr, name := range namesX32 {
		out[nr] = name + x32Suffix
	}
	return out
}

func lookup(table []string, nr int32) (string, bool) {
	if nr >= 0 && int(nr) < len(table) && table[nr] != "" {
		return table[nr], true
	}
	return "", false
}

// known returns Name(arch, nr) when the tables have it.
func known(arch uint32, nr int32) (string, bool) {
	switch arch {
	case ArchX8664:
		if nr >= 0 && nr&X32Bit != 0 {
			return lookup(byNrX32, nr&^X32Bit)
		}
		return lookup(byNrX8664, nr)
	case ArchI386:
		return lookup(byNrI386, nr)
	case ArchAArch64:
		return lookup(byNrA64, nr)
	case ArchARM:
		return lookup(byNrARM, nr)
	}
	return "", false
}

// Name returns the kernel name of syscall nr on arch, e.g. "getppid".
//
// On ArchX8664 a number with X32Bit set is an x32 syscall and gets the
// suffix "(x32)", e.g. "getpid(x32)". Below 512 x32 shares the x86_64
// numbers; this does not tell x32-valid numbers from x86_64-only ones
// (syscall_64.tbl's "64" rows), which the kernel rejects for x32.
//
// Numbers missing from the tables, negative numbers (a tracer may set
// nr to -1, docs/kernel-semantics.md §3) and unknown arches give
// "syscall_<nr>". Names in the tables are returned without allocating.
func Name(arch uint32, nr int32) string {
	if name, ok := known(arch, nr); ok {
		return name
	}
	return unknownPrefix + strconv.Itoa(int(nr))
}

// AppendName appends Name(arch, nr) to dst, without allocating beyond
// dst's growth even for numbers missing from the tables.
func AppendName(dst []byte, arch uint32, nr int32) []byte {
	if name, ok := known(arch, nr); ok {
		return append(dst, name...)
	}
	return strconv.AppendInt(append(dst, unknownPrefix...), int64(nr), 10)
}

// Number returns the syscall number of name on arch. It accepts every
// string Name returns: plain names, "<name>(x32)" on ArchX8664 (the result
// has X32Bit set) and "syscall_<nr>" for any arch.
func Number(arch uint32, name string) (int32, bool) {
	if rest, ok := strings.CutPrefix(name, unknownPrefix); ok {
		n, err := strconv.ParseInt(rest, 10, 32)
		if err != nil {
			return 0, false
		}
		return int32(n), true
	}
	switch arch {
	case ArchX8664:
		if base, ok := strings.CutSuffix(name, x32Suffix); ok {
			if nr, ok := numbersX32[base]; ok {
				return nr | X32Bit, true
			}
			if nr, ok := numbersX8664[base]; ok && nr < 512 {
				return nr | X32Bit, true
			}
			return 0, false
		}
		nr, ok := numbersX8664[name]
		return nr, ok
	case ArchI386:
		nr, ok := numbersI386[name]
		return nr, ok
	case ArchAArch64:
		nr, ok := numbersA64[name]
		return nr, ok
	case ArchARM:
		nr, ok := numbersARM[name]
		return nr, ok
	}
	return 0, false
}

// Numbers returns the syscall numbers in arch's table, sorted: the x86_64
// ones (x32's, with X32Bit, are not listed), the i386, aarch64 or arm
// ones; nil for any other arch.
func Numbers(arch uint32) []int32 {
	var m map[int32]string
	switch arch {
	case ArchX8664:
		m = namesX8664
	case ArchI386:
		m = namesI386
	case ArchAArch64:
		m = namesAArch64
	case ArchARM:
		m = namesARM
	default:
		return nil
	}
	out := make([]int32, 0, len(m))
	for nr := range m {
		out = append(out, nr)
	}
	slices.Sort(out)
	return out
}

// ArchName returns "x86_64", "i386", "aarch64" or "arm" (auditd's
// names) for the known audit arches, and the value in hex for any other.
func ArchName(arch uint32) string {
	switch arch {
	case ArchX8664:
		return "x86_64"
	case ArchI386:
		return "i386"
	case ArchAArch64:
		return "aarch64"
	case ArchARM:
		return "arm"
	}
	return fmt.Sprintf("0x%08x", arch)
}

// TableVersion returns the golang.org/x/sys version the tables were
// generated from, for diagnostics.
func TableVersion() string { return xsysVersion }
