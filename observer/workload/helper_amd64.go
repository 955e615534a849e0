// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"debug/elf"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

const helperBase = 0x400000

// noCompatHint is why an x86_64 kernel may refuse compat calls.
const noCompatHint = "no ia32 emulation (CONFIG_IA32_EMULATION off or ia32_emulation=0)"

// HelperProgram returns a static x86-64 ELF executable that makes s's calls
// and exits (with _exit, which strict mode allows).
func HelperProgram(s ExecSpec) ([]byte, error) {
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

	return elf64(elf.EM_X86_64, helperBase, code), nil
}
