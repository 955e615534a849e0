// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecSpec replaces the Go child, once its filters are installed, by a
// helper program of a few dozen machine instructions that makes the calls.
// Strict mode and compat syscalls need it: strict mode applies to one
// thread, and the Go runtime makes syscalls of its own (futex, sigaltstack,
// ...) that strict mode kills at random; a bare program makes only the
// calls listed. On x86_64 it is an x86-64 program (compat calls by int
// $0x80), on arm64 an AArch64 one, or an AArch32 one when its calls are
// compat (an arm64 task cannot make AArch32 syscalls: the whole program is).
//
// The helper exits with status 0 when its last call returned >= 0, else
// with the errno; a kill ends it by signal.
type ExecSpec struct {
	// Strict enters SECCOMP_MODE_STRICT first (seccomp(SECCOMP_SET_MODE_STRICT)).
	Strict bool      `json:"strict,omitempty"`
	Calls  []RawCall `json:"calls"`
}

// RawCall is a syscall the helper makes Count times.
type RawCall struct {
	// Compat makes a compat call: on x86_64 with int $0x80, the ia32 number
	// and registers (ebx, ecx, edx, esi, edi, ebp), arch AUDIT_ARCH_I386
	// (§9); on arm64 from an AArch32 program (svc 0, r7 and r0-r5), arch
	// AUDIT_ARCH_ARM.
	Compat bool      `json:"compat,omitempty"`
	Nr     int32     `json:"nr"`
	Args   [6]uint32 `json:"args"`
	Count  int       `json:"count"`
}

// Compat syscall numbers the conformance cases use: i386 and arm (EABI)
// share these.
const (
	NR32Getpid  = 20
	NR32Getppid = 64
	NR32Write   = 4
)

// helperFile puts the program in an anonymous memory file (no noexec /tmp to trip on).
func helperFile(s ExecSpec) (*os.File, error) {
	fd, err := unix.MemfdCreate("seccomptrace-helper", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating helper program: %w", err)
	}
	f := os.NewFile(uintptr(fd), "seccomptrace-helper")
	prog, err := HelperProgram(s)
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(prog); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing helper program: %w", err)
	}
	return f, nil
}

// execHelper replaces this process (the workload child, filters installed)
// by the helper. It returns only on failure.
func execHelper(s ExecSpec) error {
	f, err := helperFile(s)
	if err != nil {
		return err
	}
	// Without CLOEXEC on this copy: exec needs the file open to read it.
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return fmt.Errorf("executing helper program: %w", err)
	}
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), []string{"seccomptrace-helper"}, nil)
	return fmt.Errorf("executing helper program: %w", err)
}

// RunHelper runs s's helper in a child of this process, without filters, and
// returns how it ended.
func RunHelper(s ExecSpec) (*os.ProcessState, error) {
	f, err := helperFile(s)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command("/proc/self/fd/3")
	cmd.Args = []string{"seccomptrace-helper"}
	cmd.ExtraFiles = []*os.File{f}
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("running helper program: %w", err)
	}
	return cmd.ProcessState, nil
}

// CompatSyscalls reports whether this kernel takes compat syscalls (x86_64:
// int $0x80 from a 64-bit process, CONFIG_IA32_EMULATION not disabled with
// ia32_emulation=0; arm64: an AArch32 program, CONFIG_COMPAT and a CPU with
// AArch32 at EL0), by trying one in a child: nil, or why not.
func CompatSyscalls() error {
	st, err := RunHelper(ExecSpec{Calls: []RawCall{{Compat: true, Nr: NR32Getpid, Count: 1}}})
	if err != nil {
		return fmt.Errorf("%w: %s", err, noCompatHint)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return fmt.Errorf("compat getpid ended with %v: %s", st, noCompatHint)
}

// elf64 is a static executable of one PT_LOAD segment at base.
func elf64(machine elf.Machine, base uint64, code []byte) []byte {
	hdrLen := binary.Size(elf.Header64{}) + binary.Size(elf.Prog64{})
	size := uint64(hdrLen + len(code))
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Entry: base + uint64(hdrLen), Phoff: uint64(binary.Size(elf.Header64{})),
		Ehsize: uint16(binary.Size(elf.Header64{})), Phentsize: uint16(binary.Size(elf.Prog64{})), Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	p := elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Vaddr: base, Paddr: base, Filesz: size, Memsz: size, Align: 0x1000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	_ = binary.Write(&buf, binary.LittleEndian, p)
	buf.Write(code)
	return buf.Bytes()
}
