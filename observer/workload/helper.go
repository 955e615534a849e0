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
// Strict mode and int $0x80 need it: strict mode applies to one thread, and
// the Go runtime makes syscalls of its own (futex, sigaltstack, ...) that
// strict mode kills at random; a bare program makes only the calls listed.
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
	// Compat makes the call with int $0x80: the ia32 number and registers
	// (ebx, ecx, edx, esi, edi, ebp), arch AUDIT_ARCH_I386 (§9).
	Compat bool      `json:"compat,omitempty"`
	Nr     int32     `json:"nr"`
	Args   [6]uint32 `json:"args"`
	Count  int       `json:"count"`
}

// ia32 syscall numbers the conformance cases use.
const (
	NR32Getpid  = 20
	NR32Getppid = 64
	NR32Write   = 4
)

const helperBase = 0x400000

// HelperProgram returns a static x86-64 ELF executable that makes s's calls
// and exits (with _exit, which strict mode allows).
func HelperProgram(s ExecSpec) []byte {
	var code []byte
	emit := func(b ...byte) { code = append(code, b...) }
	imm32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	imm64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	native := func(nr uint64, args ...uint64) {
		// movabs rax/rdi/rsi/rdx/r10/r8/r9, imm64
		regs := [][]byte{{0x48, 0xbf}, {0x48, 0xbe}, {0x48, 0xba}, {0x49, 0xba}, {0x49, 0xb8}, {0x49, 0xb9}}
		emit(0x48, 0xb8)
		emit(imm64(nr)...)
		for i, a := range args {
			emit(regs[i]...)
			emit(imm64(a)...)
		}
		emit(0x0f, 0x05) // syscall
	}
	if s.Strict {
		native(unix.SYS_SECCOMP, 0 /* SECCOMP_SET_MODE_STRICT */, 0, 0)
	}
	for _, c := range s.Calls {
		for range c.Count {
			if !c.Compat {
				a := c.Args
				native(uint64(int64(c.Nr)), uint64(a[0]), uint64(a[1]), uint64(a[2]), uint64(a[3]), uint64(a[4]), uint64(a[5]))
				continue
			}
			// mov eax/ebx/ecx/edx/esi/edi/ebp, imm32; int $0x80; movsxd rax, eax
			emit(0xb8)
			emit(imm32(uint32(c.Nr))...)
			for i, op := range []byte{0xbb, 0xb9, 0xba, 0xbe, 0xbf, 0xbd} {
				emit(op)
				emit(imm32(c.Args[i])...)
			}
			emit(0xcd, 0x80)
			emit(0x48, 0x63, 0xc0)
		}
	}
	// status = rax < 0 ? -rax : 0; _exit(status)
	emit(0x48, 0x85, 0xc0) // test rax, rax
	emit(0x79, 0x08)       // jns +8
	emit(0x48, 0xf7, 0xd8) // neg rax
	emit(0x48, 0x89, 0xc7) // mov rdi, rax
	emit(0xeb, 0x02)       // jmp +2
	emit(0x31, 0xff)       // xor edi, edi
	emit(0xb8)             // mov eax, SYS_exit
	emit(imm32(unix.SYS_EXIT)...)
	emit(0x0f, 0x05)

	hdrLen := binary.Size(elf.Header64{}) + binary.Size(elf.Prog64{})
	size := uint64(hdrLen + len(code))
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: helperBase + uint64(hdrLen), Phoff: uint64(binary.Size(elf.Header64{})),
		Ehsize: uint16(binary.Size(elf.Header64{})), Phentsize: uint16(binary.Size(elf.Prog64{})), Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	p := elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Vaddr: helperBase, Paddr: helperBase, Filesz: size, Memsz: size, Align: 0x1000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	_ = binary.Write(&buf, binary.LittleEndian, p)
	buf.Write(code)
	return buf.Bytes()
}

// helperFile puts the program in an anonymous memory file (no noexec /tmp to trip on).
func helperFile(s ExecSpec) (*os.File, error) {
	fd, err := unix.MemfdCreate("seccomptrace-helper", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating helper program: %w", err)
	}
	f := os.NewFile(uintptr(fd), "seccomptrace-helper")
	if _, err := f.Write(HelperProgram(s)); err != nil {
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

// CompatSyscalls reports whether this kernel takes int $0x80 syscalls from a
// 64-bit process (CONFIG_IA32_EMULATION, not disabled with ia32_emulation=0),
// by trying one in a child: nil, or why not.
func CompatSyscalls() error {
	st, err := RunHelper(ExecSpec{Calls: []RawCall{{Compat: true, Nr: NR32Getpid, Count: 1}}})
	if err != nil {
		return err
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return fmt.Errorf("int $0x80 getpid ended with %v: no ia32 emulation (CONFIG_IA32_EMULATION off or ia32_emulation=0)", st)
}
