// SPDX-License-Identifier: Apache-2.0

package cbpf

import (
	"math/rand"
	"testing"
)

func TestConstResult(t *testing.T) {
	const x86 = 0xc000003e
	argCheck := []Instruction{
		ld(0), Jump(opJeqK, 110, 0, 3), // nr == getppid?
		ld(16), Jump(opJeqK, 7, 0, 1), // args[0] == 7?
		ret(0x50001), ret(0x7fff0000),
	}
	for _, tc := range []struct {
		name     string
		prog     []Instruction
		nr       int32
		want     uint32
		constant bool
	}{
		{"return k", []Instruction{ret(0x50001)}, 110, 0x50001, true},
		{"nr rule, hit", []Instruction{ld(0), Jump(opJeqK, 110, 0, 1), ret(0x30000), ret(0x7fff0000)}, 110, 0x30000, true},
		{"nr rule, miss", []Instruction{ld(0), Jump(opJeqK, 110, 0, 1), ret(0x30000), ret(0x7fff0000)}, 39, 0x7fff0000, true},
		{"argument checked", argCheck, 110, 0, false},
		{"argument not reached", argCheck, 39, 0x7fff0000, true},
		{"both ways agree", []Instruction{ld(16), Jump(opJeqK, 7, 0, 1), ret(0x50001), ret(0x50001)}, 1, 0x50001, true},
		{"return A of an argument", []Instruction{ld(24), retA()}, 1, 0, false},
		{"ip loaded", []Instruction{ld(8), Jump(opJgtK, 0, 0, 1), ret(1), ret(2)}, 1, 0, false},
		{"alu on known words", []Instruction{ld(0), Stmt(opAddK, 1), Stmt(opSt, 3), Stmt(opLdMem, 3), retA()}, 41, 42, true},
		{"divide by an argument", []Instruction{imm(10), Stmt(opLdxImm, 0), ld(16), Stmt(opTax, 0), imm(10), Stmt(opDivX, 0), ret(5)}, 1, 0, false},
		{"falls off the end", []Instruction{ld(0)}, 1, 0, true},
	} {
		got, ok := ConstResult(tc.prog, x86, tc.nr)
		if ok != tc.constant || (ok && got != tc.want) {
			t.Errorf("%s: ConstResult = %#x, %v; want %#x, %v", tc.name, got, ok, tc.want, tc.constant)
		}
	}
}

// TestConstResultAgreesWithRun: whenever ConstResult says constant, run
// gives that value for random arguments and instruction pointers.
func TestConstResultAgreesWithRun(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ops := []uint16{opJeqK, opJgtK, opJgeK, opJsetK}
	consts := 0
	for i := 0; i < 2000; i++ {
		// A random chain of checks on nr, arch or an argument, each returning an action.
		var prog []Instruction
		for j := 0; j < 1+r.Intn(6); j++ {
			off := []uint32{0, 4, 16, 24, 8}[r.Intn(5)]
			prog = append(prog, ld(off), Jump(ops[r.Intn(len(ops))], uint32(r.Intn(4)), 0, 1),
				ret([]uint32{0x50001, 0x30000, 0x7ffc0000, 0x7fff0000}[r.Intn(4)]))
		}
		prog = append(prog, ret(0x7fff0000))
		nr := int32(r.Intn(4))
		want, ok := ConstResult(prog, 0xc000003e, nr)
		if !ok {
			continue
		}
		consts++
		for k := 0; k < 50; k++ {
			d := Data{Nr: nr, Arch: 0xc000003e, IP: uint64(r.Intn(4)), Args: [6]uint64{uint64(r.Intn(4)), uint64(r.Intn(4))}}
			if got := Run(prog, &d); got != want {
				t.Fatalf("program %v nr %d: ConstResult %#x, Run %#x for %+v", prog, nr, want, got, d)
			}
		}
	}
	if consts == 0 {
		t.Fatal("no constant program in 2000: the generator is broken")
	}
}

func TestConstStack(t *testing.T) {
	older := Filter{Prog: []Instruction{ret(0x50005)}, Log: true}
	newer := Filter{Prog: []Instruction{ld(0), Jump(opJeqK, 110, 0, 1), ret(0x30000), ret(0x7fff0000)}}
	if ret, match, ok := ConstStack([]Filter{newer, older}, 0xc000003e, 110); !ok || ret != 0x30000 || match != 0 {
		t.Errorf("trap wins: %#x %d %v", ret, match, ok)
	}
	if ret, match, ok := ConstStack([]Filter{newer, older}, 0xc000003e, 39); !ok || ret != 0x50005 || match != 1 {
		t.Errorf("errno wins: %#x %d %v", ret, match, ok)
	}
	args := Filter{Prog: []Instruction{ld(16), retA()}}
	if _, _, ok := ConstStack([]Filter{newer, args}, 0xc000003e, 110); ok {
		t.Error("a filter that depends on an argument makes the stack depend on it")
	}
}
