// SPDX-License-Identifier: Apache-2.0

package sysnames

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		name string
		arch uint32
		nr   int32
		want string
	}{
		{"x86_64 getppid", ArchX8664, 110, "getppid"},
		{"x86_64 getpid", ArchX8664, 39, "getpid"},
		{"x86_64 read", ArchX8664, 0, "read"},
		{"x86_64 seccomp", ArchX8664, 317, "seccomp"},
		{"i386 getppid", ArchI386, 64, "getppid"},
		{"i386 getpid", ArchI386, 20, "getpid"},
		{"i386 restart_syscall", ArchI386, 0, "restart_syscall"},
		{"i386 _llseek keeps underscore", ArchI386, 140, "_llseek"},
		{"x86_64 hole", ArchX8664, 400, "syscall_400"},
		{"x86_64 unknown", ArchX8664, 99999, "syscall_99999"},
		{"tracer skip nr -1", ArchX8664, -1, "syscall_-1"},
		{"i386 unknown", ArchI386, 5000, "syscall_5000"},
		{"unknown arch", 0xc00000f3, 110, "syscall_110"},
		{"x32 getpid", ArchX8664, X32Bit | 39, "getpid(x32)"},
		{"x32 rt_sigaction", ArchX8664, X32Bit | 512, "rt_sigaction(x32)"},
		{"x32 pwritev2", ArchX8664, X32Bit | 547, "pwritev2(x32)"},
		{"x32 past the table", ArchX8664, X32Bit | 600, "syscall_1073742424"},
		// arm64 uses the asm-generic numbers; its compat tasks, arm's.
		{"aarch64 getppid", ArchAArch64, 173, "getppid"},
		{"aarch64 read", ArchAArch64, 63, "read"},
		{"aarch64 seccomp", ArchAArch64, 277, "seccomp"},
		{"aarch64 arch-specific hole", ArchAArch64, 244, "syscall_244"},
		{"arm restart_syscall", ArchARM, 0, "restart_syscall"},
		{"arm getppid", ArchARM, 64, "getppid"},
		{"arm rt_sigreturn", ArchARM, 173, "rt_sigreturn"},
		{"arm seccomp", ArchARM, 383, "seccomp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.arch, tt.nr); got != tt.want {
				t.Errorf("Name(%#x, %d) = %q, want %q", tt.arch, tt.nr, got, tt.want)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		name   string
		arch   uint32
		in     string
		want   int32
		wantOK bool
	}{
		{"x86_64 getppid", ArchX8664, "getppid", 110, true},
		{"i386 getppid", ArchI386, "getppid", 64, true},
		{"i386 getpid", ArchI386, "getpid", 20, true},
		{"x32 getpid", ArchX8664, "getpid(x32)", X32Bit | 39, true},
		{"x32 ioctl uses the x32 number", ArchX8664, "ioctl(x32)", X32Bit | 514, true},
		{"x32 suffix on i386", ArchI386, "getpid(x32)", 0, false},
		{"aarch64 getpid", ArchAArch64, "getpid", 172, true},
		{"aarch64 has no getpgrp", ArchAArch64, "getpgrp", 0, false},
		{"arm getpgrp", ArchARM, "getpgrp", 65, true},
		{"x32 suffix on aarch64", ArchAArch64, "getpid(x32)", 0, false},
		{"unknown form", ArchX8664, "syscall_400", 400, true},
		{"unknown form negative", ArchX8664, "syscall_-1", -1, true},
		{"bad unknown form", ArchX8664, "syscall_x", 0, false},
		{"no such name", ArchX8664, "frobnicate", 0, false},
		{"case sensitive", ArchX8664, "GETPPID", 0, false},
		{"unknown arch", 0x1234, "getppid", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Number(tt.arch, tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Number(%#x, %q) = %d, %v; want %d, %v", tt.arch, tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestRoundTrip checks that Number inverts Name for every table entry and
// for x32 and unknown numbers.
func TestRoundTrip(t *testing.T) {
	tables := []struct {
		arch  uint32
		names map[int32]string
	}{
		{ArchX8664, namesX8664},
		{ArchI386, namesI386},
		{ArchAArch64, namesAArch64},
		{ArchARM, namesARM},
	}
	for _, tab := range tables {
		if len(tab.names) < 300 {
			t.Errorf("%s table has only %d entries", ArchName(tab.arch), len(tab.names))
		}
		for nr := range tab.names {
			name := Name(tab.arch, nr)
			got, ok := Number(tab.arch, name)
			if !ok || got != nr {
				t.Errorf("%s: Number(Name(%d) = %q) = %d, %v", ArchName(tab.arch), nr, name, got, ok)
			}
		}
	}
	for _, nr := range []int32{X32Bit | 0, X32Bit | 39, X32Bit | 471, X32Bit | 512, X32Bit | 547, 400, -1, 1 << 20} {
		name := Name(ArchX8664, nr)
		got, ok := Number(ArchX8664, name)
		if !ok || got != nr {
			t.Errorf("x86_64: Number(Name(%#x) = %q) = %#x, %v", nr, name, got, ok)
		}
	}
}

func TestArchName(t *testing.T) {
	tests := []struct {
		arch uint32
		want string
	}{
		{ArchX8664, "x86_64"},
		{ArchI386, "i386"},
		{0xc00000b7, "aarch64"},
		{0x40000028, "arm"},
		{0xc00000f3, "0xc00000f3"},
		{0, "0x00000000"},
	}
	for _, tt := range tests {
		if got := ArchName(tt.arch); got != tt.want {
			t.Errorf("ArchName(%#x) = %q, want %q", tt.arch, got, tt.want)
		}
	}
}

func TestTableVersion(t *testing.T) {
	if TableVersion() == "" {
		t.Error("TableVersion() is empty")
	}
}

func TestNumbers(t *testing.T) {
	for _, arch := range []uint32{ArchX8664, ArchI386, ArchAArch64, ArchARM} {
		nrs := Numbers(arch)
		if len(nrs) < 300 || !slices.IsSorted(nrs) {
			t.Fatalf("Numbers(%s): %d numbers, sorted %v", ArchName(arch), len(nrs), slices.IsSorted(nrs))
		}
		for _, nr := range nrs {
			if strings.HasPrefix(Name(arch, nr), unknownPrefix) {
				t.Errorf("Numbers(%s) lists %d, which has no name", ArchName(arch), nr)
			}
		}
	}
	if Numbers(0xc00000f3) != nil { // AUDIT_ARCH_RISCV64: no table
		t.Error("Numbers of an arch without a table must be nil")
	}
}

// TestAppendName: the append form agrees with Name everywhere, and a
// stream of names allocates nothing, x32 and unknown numbers included.
func TestAppendName(t *testing.T) {
	for _, arch := range []uint32{ArchX8664, ArchI386, 0} {
		for nr := int32(-2); nr < 1100; nr++ {
			for _, x := range []int32{0, X32Bit} {
				if got, want := string(AppendName([]byte("x"), arch, nr|x)), "x"+Name(arch, nr|x); got != want {
					t.Fatalf("AppendName(%#x, %#x) = %q, want %q", arch, nr|x, got, want)
				}
			}
		}
	}
	if Name(ArchX8664, 39|X32Bit) != "getpid(x32)" || Name(ArchX8664, 512|X32Bit) != "rt_sigaction(x32)" {
		t.Errorf("x32 names: %q, %q", Name(ArchX8664, 39|X32Bit), Name(ArchX8664, 512|X32Bit))
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		_ = Name(ArchX8664, 110)
		_ = Name(ArchX8664, 39|X32Bit)
		_ = Name(ArchI386, 20)
		buf = AppendName(buf[:0], ArchX8664, 9999)
	}); n != 0 {
		t.Errorf("%v allocations per name", n)
	}
}

// Native and Compat are what this binary's kernel reports: the x86 pair on
// amd64, the arm pair on arm64.
func TestNativeCompat(t *testing.T) {
	want := map[string][2]uint32{"amd64": {ArchX8664, ArchI386}, "arm64": {ArchAArch64, ArchARM}}[runtime.GOARCH]
	if Native != want[0] || Compat != want[1] {
		t.Errorf("%s: Native, Compat = %s, %s; want %s, %s", runtime.GOARCH, ArchName(Native), ArchName(Compat), ArchName(want[0]), ArchName(want[1]))
	}
}
