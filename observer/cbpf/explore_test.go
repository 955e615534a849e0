// SPDX-License-Identifier: Apache-2.0

package cbpf

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func jeq(k uint32, jt, jf uint8) Instruction { return Jump(opJeqK, k, jt, jf) }

func TestExploreTypicalFilter(t *testing.T) {
	all := Explore(libseccompStyle, Input{})
	if !slices.Equal(all.Rets, []uint32{tErrno | 1, tAllow, tKillProcess}) || all.RetUnknown || all.Incomplete {
		t.Errorf("Rets = %#x unknown=%v incomplete=%v, want errno(1), allow, kill_process", all.Rets, all.RetUnknown, all.Incomplete)
	}
	if !slices.Equal(all.Arches, []uint32{archX8664}) {
		t.Errorf("Arches = %#x, want x86_64", all.Arches)
	}
	if all.Depends != 1<<0|1<<1 {
		t.Errorf("Depends = %#b, want nr and arch", all.Depends)
	}
	for _, tt := range []struct {
		in   Input
		want uint32
	}{
		{Input{Nr: 110, Arch: archX8664, KnowNr: true, KnowArch: true}, tErrno | 1},
		{Input{Nr: 39, Arch: archX8664, KnowNr: true, KnowArch: true}, tAllow},
		{Input{Nr: 0x40000001, Arch: archX8664, KnowNr: true, KnowArch: true}, tKillProcess},
		{Input{Nr: 110, Arch: archI386, KnowNr: true, KnowArch: true}, tKillProcess},
		{Input{Arch: archI386, KnowArch: true}, tKillProcess}, // any nr
	} {
		got, ok := Explore(libseccompStyle, tt.in).Constant()
		if !ok || got != tt.want {
			t.Errorf("Explore(%+v).Constant() = %#x, %v; want %#x", tt.in, got, ok, tt.want)
		}
		if kc, kok := KernelConst(libseccompStyle, tt.in.Nr, tt.in.Arch); tt.in.KnowNr && (!kok || kc != tt.want) {
			t.Errorf("KernelConst(%d, %#x) = %#x, %v; want %#x", tt.in.Nr, tt.in.Arch, kc, kok, tt.want)
		}
	}
}

func TestExploreArguments(t *testing.T) {
	// getppid: ERRNO when args[0].lo == 5 or args[1].hi has bit 0; else ALLOW.
	prog := []Instruction{
		ld(OffNr),
		jeq(110, 0, 5),
		ld(OffArgs),
		jeq(5, 2, 0),
		ld(OffArgs + 12),
		Jump(opJsetK, 1, 0, 1),
		ret(tErrno | 5),
		ret(tAllow),
	}
	if err := Validate(prog); err != nil {
		t.Fatal(err)
	}
	o := Explore(prog, Input{Nr: 110, Arch: archX8664, KnowNr: true, KnowArch: true})
	if _, ok := o.Constant(); ok || !slices.Equal(o.Rets, []uint32{tErrno | 5, tAllow}) {
		t.Errorf("getppid: Rets = %#x, want errno(5) and allow, not constant", o.Rets)
	}
	if want := uint16(1<<4 | 1<<7); o.Depends != want {
		t.Errorf("getppid: Depends = %#b, want args[0].lo and args[1].hi (%#b)", o.Depends, want)
	}
	if _, ok := KernelConst(prog, 110, archX8664); ok {
		t.Error("KernelConst: the kernel's emulator gives up at an argument load")
	}
	if got, ok := Explore(prog, Input{Nr: 39, KnowNr: true}).Constant(); !ok || got != tAllow {
		t.Errorf("getpid: Constant() = %#x, %v; want allow", got, ok)
	}
	if !KernelCaches([][]Instruction{prog, libseccompStyle}, 39, archX8664) {
		t.Error("getpid under both filters: the kernel caches it")
	}
	if KernelCaches([][]Instruction{prog, libseccompStyle}, 110, archX8664) {
		t.Error("getppid: not cached")
	}
}

func TestExplorePrunes(t *testing.T) {
	tests := []struct {
		name       string
		prog       []Instruction
		in         Input
		rets       []uint32
		retUnknown bool
	}{
		{
			// nr == 5 cannot be 6 further down: the KILL is unreachable.
			name: "equality carries",
			prog: []Instruction{ld(OffNr), jeq(5, 0, 4), ld(OffNr), jeq(6, 0, 1), ret(tKillProcess), ret(tErrno | 1), ret(tAllow)},
			rets: []uint32{tErrno | 1, tAllow},
		},
		{
			name: "ranges carry",
			prog: []Instruction{ld(OffArgs), Jump(opJgtK, 10, 0, 4), ld(OffArgs), Jump(opJgeK, 5, 0, 1), ret(tErrno | 2), ret(tKillProcess), ret(tAllow)},
			rets: []uint32{tErrno | 2, tAllow},
		},
		{
			name: "constants fold",
			prog: []Instruction{imm(3), Stmt(opAddK, 4), Jump(opJeqK, 7, 0, 1), ret(tLog), ret(tKillProcess)},
			rets: []uint32{tLog},
		},
		{
			name: "known nr through memory",
			prog: []Instruction{ld(OffNr), Stmt(opSt, 2), imm(0), Stmt(opLdMem, 2), jeq(39, 0, 1), ret(tTrap), ret(tAllow)},
			in:   Input{Nr: 39, KnowNr: true},
			rets: []uint32{tTrap},
		},
		{
			name: "division by an unknown may return 0",
			prog: []Instruction{ld(OffArgs), Stmt(opTax, 0), imm(100), Stmt(opDivX, 0), ret(tAllow)},
			rets: []uint32{0, tAllow},
		},
		{
			name: "division by a known zero",
			prog: []Instruction{ximm(0), imm(100), Stmt(opDivX, 0), ret(tAllow)},
			rets: []uint32{0},
		},
		{
			name:       "RET A of an argument",
			prog:       []Instruction{ld(OffArgs), Stmt(opOrK, tErrno), retA()},
			retUnknown: true,
		},
		{
			name: "RET A of nr known",
			prog: []Instruction{ld(OffNr), Stmt(opOrK, tErrno), retA()},
			in:   Input{Nr: 9, KnowNr: true},
			rets: []uint32{tErrno | 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.prog); err != nil {
				t.Fatal(err)
			}
			o := Explore(tt.prog, tt.in)
			if !slices.Equal(o.Rets, tt.rets) || o.RetUnknown != tt.retUnknown || o.Incomplete {
				t.Errorf("Rets = %#x unknown=%v incomplete=%v; want %#x unknown=%v", o.Rets, o.RetUnknown, o.Incomplete, tt.rets, tt.retUnknown)
			}
		})
	}
}

func TestExploreIncomplete(t *testing.T) {
	// 20 independent tests of a computed value (no range to carry), each
	// storing a different constant: 2^20 distinct paths, beyond MaxSteps.
	var prog []Instruction
	for i := range 20 {
		prog = append(prog, ld(OffArgs+uint32(4*(i%12))), Stmt(opAddK, 0), jeq(uint32(i), 0, 1), Stmt(opLdImm, uint32(i)), Stmt(opSt, uint32(i%16)))
	}
	prog = append(prog, ret(tAllow))
	if err := Validate(prog); err != nil {
		t.Fatal(err)
	}
	o := Explore(prog, Input{})
	if !o.Incomplete {
		t.Fatalf("Incomplete = false for a program of 2^20 paths")
	}
	if _, ok := o.Constant(); ok {
		t.Error("an incomplete exploration must not claim a constant")
	}
}

// randomProgram is a valid program of random loads, ALU, jumps and returns.
func randomProgram(r *rand.Rand) []Instruction {
	for {
		n := 2 + r.IntN(24)
		prog := make([]Instruction, n)
		for i := range prog {
			prog[i] = Instruction{Code: seccompOpcodes[r.IntN(len(seccompOpcodes))], Jt: uint8(r.IntN(8)), Jf: uint8(r.IntN(8))}
			switch r.IntN(3) {
			case 0:
				prog[i].K = uint32(r.IntN(16)) * 4
			case 1:
				prog[i].K = []uint32{tAllow, tErrno | 1, tKillProcess, tLog, tTrap, archX8664, archI386, 39, 110}[r.IntN(9)]
			default:
				prog[i].K = uint32(r.IntN(40))
			}
		}
		nearValid(prog)
		if Validate(prog) == nil {
			return prog
		}
	}
}

func randomData(r *rand.Rand) Data {
	d := Data{Nr: []int32{39, 110, 0, 5, int32(r.IntN(500))}[r.IntN(5)], Arch: []uint32{archX8664, archI386, r.Uint32()}[r.IntN(3)], IP: r.Uint64()}
	for i := range d.Args {
		switch r.IntN(3) {
		case 0:
			d.Args[i] = uint64(r.IntN(40))
		case 1:
			d.Args[i] = uint64(r.IntN(16)) * 4
		default:
			d.Args[i] = r.Uint64()
		}
	}
	return d
}

// Explore is sound against Run: what Run returns is among Rets (or a RET A
// it could not fix), and a Constant is what every input gives. KernelConst
// never claims more than Explore.
func TestExploreAgreesWithRun(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 3000 {
		prog := randomProgram(r)
		d := randomData(r)
		got := Run(prog, &d)
		for _, in := range []Input{{}, {Nr: d.Nr, KnowNr: true}, {Nr: d.Nr, Arch: d.Arch, KnowNr: true, KnowArch: true}} {
			o := Explore(prog, in)
			if o.Incomplete {
				continue
			}
			if !slices.Contains(o.Rets, got) && !o.RetUnknown {
				t.Fatalf("Run = %#x not in Explore(%+v) = %#x\n%s", got, in, o.Rets, strings.Join(Disasm(prog, nil), "\n"))
			}
			if c, ok := o.Constant(); ok && c != got {
				t.Fatalf("Explore(%+v) constant %#x, Run = %#x\n%s", in, c, got, strings.Join(Disasm(prog, nil), "\n"))
			}
		}
		if k, ok := KernelConst(prog, d.Nr, d.Arch); ok {
			o := Explore(prog, Input{Nr: d.Nr, Arch: d.Arch, KnowNr: true, KnowArch: true})
			if c, cok := o.Constant(); !cok || c != k || got != k {
				t.Fatalf("KernelConst = %#x, Explore constant %#x %v, Run %#x\n%s", k, c, cok, got, strings.Join(Disasm(prog, nil), "\n"))
			}
		}
	}
}

func TestDisasm(t *testing.T) {
	got := Disasm(libseccompStyle, func(v uint32) string {
		if v == tAllow {
			return "allow"
		}
		return ""
	})
	want := []string{
		"(000) ld       [4]                   ; arch",
		"(001) jeq      #0xc000003e      jt 3    jf 2",
		"(002) ret      #0x80000000",
		"(003) ld       [0]                   ; nr",
		"(004) jge      #0x40000000      jt 5    jf 6",
		"(005) ret      #0x80000000",
		"(006) jeq      #0x6e            jt 7    jf 8",
		"(007) ret      #0x50001",
		"(008) ret      #0x7fff0000           ; allow",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Disasm:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := DataField(OffArgs + 8*2 + 4); f != "args[2].hi" {
		t.Errorf("DataField = %q", f)
	}
	// Never panics on what the kernel refuses.
	for _, l := range Disasm([]Instruction{{Code: opLdIndB}, {Code: 0xffff}, {Code: opModK, K: 3}}, nil) {
		if l == "" {
			t.Error("empty line")
		}
	}
}
