// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"
)

// noCompatHint is why an arm64 kernel may refuse an AArch32 program.
const noCompatHint = "no AArch32 (CONFIG_COMPAT off, or a CPU without AArch32 at EL0)"

const (
	helperBase   = 0x400000
	helperBase32 = 0x10000
	// __NR_seccomp and __NR_exit of arm (EABI), which an AArch32 task uses.
	nrARMSeccomp = 383
	nrARMExit    = 1
	// EF_ARM_EABI_VER5: arm64's compat_elf_check_arch wants an EABI binary.
	efARMEABIVer5 = 0x05000000
)

// HelperProgram returns a static ELF executable that makes s's calls and
// exits (with _exit, which strict mode allows): AArch64, or AArch32 when
// the calls are compat ones.
func HelperProgram(s ExecSpec) ([]byte, error) {
	compat := 0
	for _, c := range s.Calls {
		if c.Compat {
			compat++
		}
	}
	switch {
	case compat == 0:
		return elf64(elf.EM_AARCH64, helperBase, helperA64(s)), nil
	case compat == len(s.Calls):
		return elfARM(helperA32(s)), nil
	}
	return nil, errors.New("arm64: a helper program makes native or compat calls, not both (AArch32 is a whole program)")
}

func helperA64(s ExecSpec) []byte {
	var code []byte
	emit := func(insns ...uint32) {
		for _, i := range insns {
			code = binary.LittleEndian.AppendUint32(code, i)
		}
	}
	mov := func(rd uint32, v uint64) {
		emit(0xd2800000 | uint32(v&0xffff)<<5 | rd) // movz xD, #v
		for hw := uint32(1); hw < 4; hw++ {
			emit(0xf2800000 | hw<<21 | uint32(v>>(16*hw)&0xffff)<<5 | rd) // movk xD, #v, lsl 16*hw
		}
	}
	call := func(nr uint64, args ...uint64) {
		mov(8, nr)
		for i, a := range args {
			mov(uint32(i), a)
		}
		emit(0xd4000001) // svc #0
	}
	if s.Strict {
		call(unix.SYS_SECCOMP, 0 /* SECCOMP_SET_MODE_STRICT */, 0, 0)
	}
	for _, c := range s.Calls {
		a := c.Args
		for range c.Count {
			call(uint64(int64(c.Nr)), uint64(a[0]), uint64(a[1]), uint64(a[2]), uint64(a[3]), uint64(a[4]), uint64(a[5]))
		}
	}
	// status = x0 < 0 ? -x0 : 0; _exit(status)
	emit(0xf100001f, // cmp x0, #0
		0x5400006b, // b.lt +3 (neg)
		0xd2800000, // movz x0, #0
		0x14000002, // b +2 (exit)
		0xcb0003e0) // neg x0, x0
	call(unix.SYS_EXIT)
	return code
}

// helperA32 is the same in A32 (ARM state): number in r7, arguments in r0-r5.
func helperA32(s ExecSpec) []byte {
	var code []byte
	emit := func(insns ...uint32) {
		for _, i := range insns {
			code = binary.LittleEndian.AppendUint32(code, i)
		}
	}
	mov := func(rd, v uint32) {
		emit(0xe3000000|(v&0xffff)>>12<<16|rd<<12|v&0xfff, // movw rD, #lo
			0xe3400000|v>>28<<16|rd<<12|v>>16&0xfff) // movt rD, #hi
	}
	call := func(nr uint32, args ...uint32) {
		mov(7, nr)
		for i, a := range args {
			mov(uint32(i), a)
		}
		emit(0xef000000) // svc #0
	}
	if s.Strict {
		call(nrARMSeccomp, 0 /* SECCOMP_SET_MODE_STRICT */, 0, 0)
	}
	for _, c := range s.Calls {
		a := c.Args
		for range c.Count {
			call(uint32(c.Nr), a[0], a[1], a[2], a[3], a[4], a[5])
		}
	}
	// status = r0 < 0 ? -r0 : 0; _exit(status)
	emit(0xe3500000, // cmp r0, #0
		0xb2600000, // rsblt r0, r0, #0
		0xa3a00000) // movge r0, #0
	call(nrARMExit)
	return code
}

// elfARM wraps A32 code in a static 32-bit EABI executable.
func elfARM(code []byte) []byte {
	hdrLen := binary.Size(elf.Header32{}) + binary.Size(elf.Prog32{})
	size := uint32(hdrLen + len(code))
	h := elf.Header32{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_ARM), Version: uint32(elf.EV_CURRENT),
		Entry: helperBase32 + uint32(hdrLen), Phoff: uint32(binary.Size(elf.Header32{})), Flags: efARMEABIVer5,
		Ehsize: uint16(binary.Size(elf.Header32{})), Phentsize: uint16(binary.Size(elf.Prog32{})), Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	p := elf.Prog32{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Vaddr: helperBase32, Paddr: helperBase32, Filesz: size, Memsz: size, Align: 0x1000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	_ = binary.Write(&buf, binary.LittleEndian, p)
	buf.Write(code)
	return buf.Bytes()
}
