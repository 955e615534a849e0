// SPDX-License-Identifier: Apache-2.0

package cbpf

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// Return values used in tests (policy has the exported set).
const (
	tKillProcess uint32 = 0x80000000
	tKillThread  uint32 = 0x00000000
	tTrap        uint32 = 0x00030000
	tErrno       uint32 = 0x00050000
	tUserNotif   uint32 = 0x7fc00000
	tTrace       uint32 = 0x7ff00000
	tLog         uint32 = 0x7ffc0000
	tAllow       uint32 = 0x7fff0000

	archX8664 uint32 = 0xc000003e
	archI386  uint32 = 0x40000003
)

func ld(k uint32) Instruction   { return Stmt(opLdAbsW, k) }
func ret(k uint32) Instruction  { return Stmt(opRetK, k) }
func retA() Instruction         { return Stmt(opRetA, 0) }
func imm(k uint32) Instruction  { return Stmt(opLdImm, k) }
func ximm(k uint32) Instruction { return Stmt(opLdxImm, k) }

// sample is a seccomp_data with distinct values in every word.
var sample = Data{
	Nr:   110,
	Arch: archX8664,
	IP:   0x1122334455667788,
	Args: [6]uint64{0x00000001_00000002, 3, 0xffffffff_fffffffe, 0, 0, 0xdeadbeef_cafef00d},
}

func TestDataBytes(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("layout check written for little-endian hosts")
	}
	b := sample.Bytes()
	want := map[int][]byte{
		0:  {110, 0, 0, 0},
		4:  {0x3e, 0, 0, 0xc0},
		8:  {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
		16: {2, 0, 0, 0, 1, 0, 0, 0},
		56: {0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde},
	}
	for off, w := range want {
		if got := b[off : off+len(w)]; string(got) != string(w) {
			t.Errorf("bytes at %d = % x, want % x", off, got, w)
		}
	}
	neg := Data{Nr: -1}
	if got := neg.Bytes(); binary.LittleEndian.Uint32(got[:]) != 0xffffffff {
		t.Errorf("nr -1 encodes as %#x", binary.LittleEndian.Uint32(got[:]))
	}
}

func TestParseData(t *testing.T) {
	b := sample.Bytes()
	got, err := ParseData(b[:])
	if err != nil || got != sample {
		t.Fatalf("ParseData(Bytes()) = %+v, %v; want %+v", got, err, sample)
	}
	if _, err := ParseData(b[:63]); err == nil {
		t.Error("ParseData(63 bytes) succeeded")
	}
}

func TestProgramCodec(t *testing.T) {
	prog := []Instruction{ld(4), Jump(opJeqK, archX8664, 1, 0), ret(tKillProcess), Jump(opJgtK, 0xffffffff, 255, 7), ret(tAllow)}
	b := EncodeProgram(prog)
	if len(b) != 8*len(prog) {
		t.Fatalf("encoded %d bytes, want %d", len(b), 8*len(prog))
	}
	got, err := DecodeProgram(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prog {
		if got[i] != prog[i] {
			t.Errorf("instruction %d = %+v, want %+v", i, got[i], prog[i])
		}
	}
	if _, err := DecodeProgram(b[:9]); err == nil {
		t.Error("DecodeProgram(9 bytes) succeeded")
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		prog []Instruction
		data Data
		want uint32
	}{
		// Returns.
		{"ret k", []Instruction{ret(0x50001)}, sample, 0x50001},
		{"ret a initial zero", []Instruction{retA()}, sample, 0},

		// Loads from seccomp_data: native (little-endian) words.
		{"ld nr", []Instruction{ld(0), retA()}, sample, 110},
		{"ld negative nr", []Instruction{ld(0), retA()}, Data{Nr: -1}, 0xffffffff},
		{"ld arch", []Instruction{ld(4), retA()}, sample, archX8664},
		{"ld ip low", []Instruction{ld(8), retA()}, sample, 0x55667788},
		{"ld ip high", []Instruction{ld(12), retA()}, sample, 0x11223344},
		{"ld arg0 low", []Instruction{ld(16), retA()}, sample, 2},
		{"ld arg0 high", []Instruction{ld(20), retA()}, sample, 1},
		{"ld arg5 high", []Instruction{ld(60), retA()}, sample, 0xdeadbeef},
		{"ld len", []Instruction{Stmt(opLdLenW, 0), retA()}, sample, 64},
		{"ldx len", []Instruction{Stmt(opLdxLenW, 0), Stmt(opTxa, 0), retA()}, sample, 64},
		{"ld imm", []Instruction{imm(0xabcdef01), retA()}, sample, 0xabcdef01},
		{"ldx imm + txa", []Instruction{ximm(7), Stmt(opTxa, 0), retA()}, sample, 7},
		{"tax", []Instruction{imm(9), Stmt(opTax, 0), imm(0), Stmt(opTxa, 0), retA()}, sample, 9},

		// Scratch memory.
		{"st/ld mem", []Instruction{imm(42), Stmt(opSt, 15), imm(0), Stmt(opLdMem, 15), retA()}, sample, 42},
		{"stx/ldx mem", []Instruction{ximm(43), Stmt(opStx, 3), ximm(0), Stmt(opLdxMem, 3), Stmt(opTxa, 0), retA()}, sample, 43},

		// ALU with K.
		{"add k wraps", []Instruction{imm(0xffffffff), Stmt(opAddK, 2), retA()}, sample, 1},
		{"sub k wraps", []Instruction{imm(1), Stmt(opSubK, 2), retA()}, sample, 0xffffffff},
		{"mul k wraps", []Instruction{imm(0x80000001), Stmt(opMulK, 2), retA()}, sample, 2},
		{"div k unsigned", []Instruction{imm(0xfffffffe), Stmt(opDivK, 2), retA()}, sample, 0x7fffffff},
		{"and k", []Instruction{imm(0xf0f0), Stmt(opAndK, 0xff00), retA()}, sample, 0xf000},
		{"or k", []Instruction{imm(0xf0f0), Stmt(opOrK, 0x0f00), retA()}, sample, 0xfff0},
		{"xor k", []Instruction{imm(0xff00), Stmt(opXorK, 0x0ff0), retA()}, sample, 0xf0f0},
		{"lsh k", []Instruction{imm(0x80000003), Stmt(opLshK, 1), retA()}, sample, 6},
		{"lsh k 31", []Instruction{imm(1), Stmt(opLshK, 31), retA()}, sample, 0x80000000},
		{"rsh k logical", []Instruction{imm(0x80000000), Stmt(opRshK, 31), retA()}, sample, 1},
		{"neg", []Instruction{imm(1), Stmt(opNeg, 0), retA()}, sample, 0xffffffff},
		{"neg zero", []Instruction{imm(0), Stmt(opNeg, 0), retA()}, sample, 0},

		// ALU with X.
		{"add x", []Instruction{imm(5), ximm(6), Stmt(opAddX, 0), retA()}, sample, 11},
		{"sub x", []Instruction{imm(5), ximm(6), Stmt(opSubX, 0), retA()}, sample, 0xffffffff},
		{"mul x", []Instruction{imm(5), ximm(6), Stmt(opMulX, 0), retA()}, sample, 30},
		{"div x", []Instruction{imm(100), ximm(7), Stmt(opDivX, 0), retA()}, sample, 14},
		{"and x", []Instruction{imm(6), ximm(3), Stmt(opAndX, 0), retA()}, sample, 2},
		{"or x", []Instruction{imm(6), ximm(3), Stmt(opOrX, 0), retA()}, sample, 7},
		{"xor x", []Instruction{imm(6), ximm(3), Stmt(opXorX, 0), retA()}, sample, 5},
		{"lsh x", []Instruction{imm(1), ximm(4), Stmt(opLshX, 0), retA()}, sample, 16},
		{"rsh x", []Instruction{imm(256), ximm(4), Stmt(opRshX, 0), retA()}, sample, 16},
		// Shift by X uses X & 31 (eBPF ALU32 / x86 shl r32, cl).
		{"lsh x 32 is shift 0", []Instruction{imm(3), ximm(32), Stmt(opLshX, 0), retA()}, sample, 3},
		{"lsh x 33 is shift 1", []Instruction{imm(3), ximm(33), Stmt(opLshX, 0), retA()}, sample, 6},
		{"rsh x 0xffffffff is shift 31", []Instruction{imm(0x80000000), ximm(0xffffffff), Stmt(opRshX, 0), retA()}, sample, 1},

		// Division by X == 0 aborts the program with 0, even past a RET K.
		{"div x zero returns 0", []Instruction{imm(100), ximm(0), Stmt(opDivX, 0), ret(tAllow)}, sample, 0},
		{"div x zero via data", []Instruction{ld(40), Stmt(opTax, 0), imm(7), Stmt(opDivX, 0), ret(tAllow)}, sample, 0},

		// Jumps: K forms compare unsigned, constants with bit 31 zero-extended.
		{"ja", []Instruction{Stmt(opJa, 1), ret(1), ret(2)}, sample, 2},
		{"ja 0", []Instruction{Stmt(opJa, 0), ret(1), ret(2)}, sample, 1},
		{"jeq k true", []Instruction{ld(0), Jump(opJeqK, 110, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jeq k false", []Instruction{ld(0), Jump(opJeqK, 111, 0, 1), ret(1), ret(2)}, sample, 2},
		{"jeq k high bit", []Instruction{ld(4), Jump(opJeqK, archX8664, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jeq k -1", []Instruction{ld(0), Jump(opJeqK, 0xffffffff, 0, 1), ret(1), ret(2)}, Data{Nr: -1}, 1},
		{"jgt k unsigned", []Instruction{ld(0), Jump(opJgtK, 0x7fffffff, 0, 1), ret(1), ret(2)}, Data{Nr: -1}, 1},
		{"jgt k equal", []Instruction{ld(0), Jump(opJgtK, 110, 0, 1), ret(1), ret(2)}, sample, 2},
		{"jge k equal", []Instruction{ld(0), Jump(opJgeK, 110, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jge k less", []Instruction{ld(0), Jump(opJgeK, 111, 0, 1), ret(1), ret(2)}, sample, 2},
		{"jset k", []Instruction{ld(0), Jump(opJsetK, 0x40000000, 0, 1), ret(1), ret(2)}, Data{Nr: 0x40000027}, 1},
		{"jset k clear", []Instruction{ld(0), Jump(opJsetK, 0x40000000, 0, 1), ret(1), ret(2)}, sample, 2},
		{"jeq x", []Instruction{ld(0), ximm(110), Jump(opJeqX, 0, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jgt x", []Instruction{ld(0), ximm(109), Jump(opJgtX, 0, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jge x", []Instruction{ld(0), ximm(111), Jump(opJgeX, 0, 0, 1), ret(1), ret(2)}, sample, 2},
		{"jset x", []Instruction{ld(0), ximm(2), Jump(opJsetX, 0, 0, 1), ret(1), ret(2)}, sample, 1},
		{"jt and jf both far", []Instruction{ld(0), Jump(opJeqK, 1, 2, 1), ret(1), ret(2), ret(3)}, sample, 2},
		{"jt equals jf", []Instruction{ld(0), Jump(opJeqK, 1, 1, 1), ret(1), ret(2)}, sample, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.prog); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := Run(tt.prog, &tt.data); got != tt.want {
				t.Errorf("Run = %#x, want %#x", got, tt.want)
			}
		})
	}
}

// libseccompStyle is the usual shape of a generated filter: kill on a
// foreign arch, ERRNO|1 for getppid, ALLOW otherwise.
var libseccompStyle = []Instruction{
	ld(4),
	Jump(opJeqK, archX8664, 1, 0),
	ret(tKillProcess),
	ld(0),
	Jump(opJgeK, 0x40000000, 0, 1), // x32
	ret(tKillProcess),
	Jump(opJeqK, 110, 0, 1),
	ret(tErrno | 1),
	ret(tAllow),
}

func TestRunTypicalFilter(t *testing.T) {
	if err := Validate(libseccompStyle); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		d    Data
		want uint32
	}{
		{"getppid", Data{Nr: 110, Arch: archX8664}, tErrno | 1},
		{"getpid", Data{Nr: 39, Arch: archX8664}, tAllow},
		{"i386", Data{Nr: 64, Arch: archI386}, tKillProcess},
		{"x32", Data{Nr: 0x40000027, Arch: archX8664}, tKillProcess},
		{"nr -1 counts as x32 range", Data{Nr: -1, Arch: archX8664}, tKillProcess},
	}
	for _, tt := range tests {
		if got := Run(libseccompStyle, &tt.d); got != tt.want {
			t.Errorf("%s: Run = %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) []Instruction {
		p := make([]Instruction, n)
		for i := range p {
			p[i] = ret(tAllow)
		}
		return p
	}
	tests := []struct {
		name    string
		prog    []Instruction
		wantErr string // "" means valid
	}{
		{"empty", nil, "length 0"},
		{"one ret", []Instruction{ret(tAllow)}, ""},
		{"4096", long(MaxInsns), ""},
		{"4097", long(MaxInsns + 1), "length 4097"},
		{"unknown opcode", []Instruction{Stmt(0xffff, 0), ret(0)}, "unknown opcode"},
		{"unknown opcode 0x0e (ret x)", []Instruction{Stmt(ClassRET|0x08, 0)}, "unknown opcode"},
		{"no final ret", []Instruction{ret(0), imm(1)}, "not a RET"},
		{"final ret a", []Instruction{imm(1), retA()}, ""},
		{"misaligned load", []Instruction{ld(2), retA()}, "aligned"},
		{"load at 64", []Instruction{ld(64), retA()}, "aligned"},
		{"load at 60", []Instruction{ld(60), retA()}, ""},
		{"load far out", []Instruction{ld(0xfffff000), retA()}, "aligned"},
		{"load half", []Instruction{Stmt(opLdAbsH, 0), retA()}, "not allowed in seccomp"},
		{"load byte", []Instruction{Stmt(opLdAbsB, 0), retA()}, "not allowed in seccomp"},
		{"load ind", []Instruction{Stmt(opLdIndW, 0), retA()}, "not allowed in seccomp"},
		{"ldx msh", []Instruction{Stmt(opLdxMshB, 0), retA()}, "not allowed in seccomp"},
		{"mod k", []Instruction{imm(5), Stmt(opModK, 3), retA()}, "not allowed in seccomp"},
		{"mod x", []Instruction{imm(5), Stmt(opModX, 0), retA()}, "not allowed in seccomp"},
		{"div k zero", []Instruction{Stmt(opDivK, 0), retA()}, "division by constant zero"},
		{"mod k zero caught by classic check", []Instruction{Stmt(opModK, 0), retA()}, "division by constant zero"},
		{"div x allowed", []Instruction{Stmt(opDivX, 0), retA()}, ""},
		{"lsh k 32", []Instruction{Stmt(opLshK, 32), retA()}, "shift by constant 32"},
		{"rsh k 32", []Instruction{Stmt(opRshK, 32), retA()}, "shift by constant 32"},
		{"lsh k 31", []Instruction{Stmt(opLshK, 31), retA()}, ""},
		{"mem index 16", []Instruction{Stmt(opSt, 16), retA()}, "scratch index 16"},
		{"ldx mem index 16", []Instruction{Stmt(opLdxMem, 16), retA()}, "scratch index 16"},
		{"read before write", []Instruction{Stmt(opLdMem, 0), retA()}, "before it is written"},
		{"read other cell", []Instruction{Stmt(opSt, 1), Stmt(opLdMem, 0), retA()}, "before it is written"},
		{"read after write", []Instruction{Stmt(opSt, 0), Stmt(opLdMem, 0), retA()}, ""},
		{"write on one path only", []Instruction{
			ld(0), Jump(opJeqK, 1, 0, 1), Stmt(opSt, 0), Stmt(opLdMem, 0), retA(),
		}, "before it is written"},
		{"write on both paths", []Instruction{
			ld(0), Jump(opJeqK, 1, 0, 2), Stmt(opSt, 0), Stmt(opJa, 1), Stmt(opSt, 0), Stmt(opLdMem, 0), retA(),
		}, ""},
		{"ja past end", []Instruction{Stmt(opJa, 1), ret(0)}, "past the end"},
		{"ja to last", []Instruction{Stmt(opJa, 0), ret(0)}, ""},
		{"ja huge", []Instruction{Stmt(opJa, 0xffffffff), ret(0)}, "past the end"},
		{"jt past end", []Instruction{Jump(opJeqK, 0, 1, 0), ret(0)}, "past the end"},
		{"jf past end", []Instruction{Jump(opJgtX, 0, 0, 1), ret(0)}, "past the end"},
		{"jump ok", []Instruction{Jump(opJsetK, 0, 1, 0), ret(0), ret(1)}, ""},
		{"ld len", []Instruction{Stmt(opLdLenW, 0), retA()}, ""},
		{"ldx len", []Instruction{Stmt(opLdxLenW, 0), retA()}, ""},
		{"typical filter", libseccompStyle, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.prog)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %q, want it to contain %q", err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("error %T is not a *ValidationError", err)
			}
		})
	}
}

func TestValidationErrorPC(t *testing.T) {
	err := Validate([]Instruction{imm(0), ld(6), retA()})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.PC != 1 {
		t.Fatalf("Validate = %v, want a *ValidationError at PC 1", err)
	}
	if err := Validate(nil); !errors.As(err, &ve) || ve.PC != -1 {
		t.Fatalf("Validate(nil) = %v, want PC -1", err)
	}
}

// TestRunUnvalidated checks that Run returns 0 rather than panicking on
// programs the kernel would refuse.
func TestRunUnvalidated(t *testing.T) {
	tests := []struct {
		name string
		prog []Instruction
	}{
		{"empty", nil},
		{"falls off the end", []Instruction{imm(5)}},
		{"load out of range", []Instruction{ld(64), ret(tAllow)}},
		{"misaligned load", []Instruction{ld(1), ret(tAllow)}},
		{"mem out of range", []Instruction{Stmt(opLdMem, 99), ret(tAllow)}},
		{"st out of range", []Instruction{Stmt(opSt, 16), ret(tAllow)}},
		{"ja past end", []Instruction{Stmt(opJa, 0xffffffff), ret(tAllow)}},
		{"jt past end", []Instruction{Jump(opJeqK, 0, 200, 200), ret(tAllow)}},
		{"mod", []Instruction{Stmt(opModK, 2), ret(tAllow)}},
		{"unknown", []Instruction{Stmt(0xbeef, 0), ret(tAllow)}},
		{"div k zero", []Instruction{Stmt(opDivK, 0), ret(tAllow)}},
	}
	for _, tt := range tests {
		if got := Run(tt.prog, &sample); got != 0 {
			t.Errorf("%s: Run = %#x, want 0", tt.name, got)
		}
	}
}

func TestRunStack(t *testing.T) {
	f := func(v uint32, log bool) Filter { return Filter{Prog: []Instruction{ret(v)}, Log: log} }
	tests := []struct {
		name      string
		filters   []Filter // newest first
		wantRet   uint32
		wantMatch int
	}{
		{"empty stack kills", nil, tKillProcess, -1},
		{"single allow: no match", []Filter{f(tAllow, true)}, tAllow, -1},
		{"allow data bits dropped", []Filter{f(tAllow|7, false), f(tAllow|9, false)}, tAllow, -1},
		{"single errno", []Filter{f(tErrno|1, true)}, tErrno | 1, 0},
		{"kill_process beats all", []Filter{f(tKillThread, false), f(tTrap, false), f(tKillProcess|5, false), f(tErrno, false)}, tKillProcess | 5, 2},
		{"kill_thread beats trap", []Filter{f(tTrap, false), f(tKillThread, false)}, tKillThread, 1},
		{"trap beats errno", []Filter{f(tErrno, false), f(tTrap|3, false)}, tTrap | 3, 1},
		{"errno beats user_notif", []Filter{f(tUserNotif, false), f(tErrno|2, false)}, tErrno | 2, 1},
		{"user_notif beats trace", []Filter{f(tTrace, false), f(tUserNotif, false)}, tUserNotif, 1},
		{"trace beats log", []Filter{f(tLog, false), f(tTrace|4, false)}, tTrace | 4, 1},
		{"log beats allow", []Filter{f(tAllow, false), f(tLog, false)}, tLog, 1},
		{"tie goes to newest with its data", []Filter{f(tErrno|1, false), f(tErrno|2, true)}, tErrno | 1, 0},
		{"tie of three", []Filter{f(tAllow, false), f(tTrap|8, false), f(tTrap|9, false)}, tTrap | 8, 1},
		{"unknown 0x10000 between kill_thread and trap", []Filter{f(tTrap, false), f(0x10000, false)}, 0x10000, 1},
		{"negative unknown beats kill_thread", []Filter{f(tKillThread, false), f(0xfffe0000, false)}, 0xfffe0000, 1},
		{"kill_process beats negative unknown", []Filter{f(0xfffe0000, false), f(tKillProcess, false)}, tKillProcess, 1},
		{"log beats unknown above it", []Filter{f(0x7ffe0000, false), f(tLog, false)}, tLog, 1},
		{"unknown above log beats allow", []Filter{f(tAllow, false), f(0x7ffe0000, false)}, 0x7ffe0000, 1},
		{"allow-class unknown is allow", []Filter{f(0x7fff8000, false)}, tAllow, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotRet, gotMatch := RunStack(tt.filters, &sample)
			if gotRet != tt.wantRet || gotMatch != tt.wantMatch {
				t.Errorf("RunStack = %#x, %d; want %#x, %d", gotRet, gotMatch, tt.wantRet, tt.wantMatch)
			}
		})
	}
}

// TestRunStackRequested mirrors the runtime checks of docs/kernel-semantics.md §10:
// requested comes from the winning filter's log flag only.
func TestRunStackRequested(t *testing.T) {
	f := func(v uint32, log bool) Filter { return Filter{Prog: []Instruction{ret(v)}, Log: log} }
	tests := []struct {
		name    string
		filters []Filter // newest first
		want    bool
	}{
		{"both errno, only older logs", []Filter{f(tErrno, false), f(tErrno, true)}, false},
		{"both errno, only newer logs", []Filter{f(tErrno, true), f(tErrno, false)}, true},
		{"older trap without flag beats newer errno with flag", []Filter{f(tErrno, true), f(tTrap, false)}, false},
		{"allow never requested", []Filter{f(tAllow, true)}, false},
		{"empty stack", nil, false},
	}
	for _, tt := range tests {
		_, match := RunStack(tt.filters, &sample)
		if got := RequestedLog(tt.filters, match); got != tt.want {
			t.Errorf("%s: RequestedLog = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRunStackUsesData checks that every filter sees the same data and
// that a filter keyed on nr only wins for that nr.
func TestRunStackUsesData(t *testing.T) {
	filters := []Filter{
		{Prog: []Instruction{ld(0), Jump(opJeqK, 39, 0, 1), ret(tTrap | 1), ret(tAllow)}},
		{Prog: libseccompStyle, Log: true},
	}
	tests := []struct {
		nr        int32
		wantRet   uint32
		wantMatch int
	}{
		{110, tErrno | 1, 1},
		{39, tTrap | 1, 0},
		{1, tAllow, -1},
	}
	for _, tt := range tests {
		d := Data{Nr: tt.nr, Arch: archX8664}
		gotRet, gotMatch := RunStack(filters, &d)
		if gotRet != tt.wantRet || gotMatch != tt.wantMatch {
			t.Errorf("nr %d: RunStack = %#x, %d; want %#x, %d", tt.nr, gotRet, gotMatch, tt.wantRet, tt.wantMatch)
		}
	}
}

// seccompOpcodes lists the opcodes Validate admits, for the fuzzer.
var seccompOpcodes = func() []uint16 {
	var out []uint16
	for c := range seccompCodes {
		out = append(out, c)
	}
	// Sort for a stable mapping from fuzz bytes to opcodes.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}()

// nearValid rewrites fuzz input into a program that often passes
// Validate: admitted opcodes only, jumps kept inside the program, small
// constants most of the time and a RET at the end. The scratch-memory
// rule is left to chance.
func nearValid(prog []Instruction) {
	n := len(prog)
	for i := range prog {
		ins := &prog[i]
		ins.Code = seccompOpcodes[int(ins.Code)%len(seccompOpcodes)]
		if ins.K&0x100 == 0 {
			ins.K &= 0x3c // aligned offsets, scratch indexes, shifts < 32
		}
		if left := n - i - 1; left > 0 {
			ins.Jt %= uint8(min(left, 255))
			ins.Jf %= uint8(min(left, 255))
			if ins.Code == opJa {
				ins.K %= uint32(left)
			}
		}
	}
	if n > 0 {
		if prog[n-1].K&1 == 0 {
			prog[n-1].Code = opRetA
		} else {
			prog[n-1].Code = opRetK
		}
	}
}

// FuzzRun checks that Run never panics, on any program, and that on
// programs that pass Validate it is deterministic and agrees with a
// one-filter RunStack. When mapOps is set the input is first turned into
// a near-valid program (nearValid), so the fuzzer spends most of its time
// on programs the kernel would accept.
func FuzzRun(f *testing.F) {
	sd := sample.Bytes()
	f.Add(sd[:], EncodeProgram(libseccompStyle), false)
	f.Add(sd[:], EncodeProgram([]Instruction{imm(1), ximm(0), Stmt(opDivX, 0), retA()}), false)
	f.Add(sd[:], EncodeProgram([]Instruction{Stmt(opSt, 3), Stmt(opLdMem, 3), ret(0)}), true)
	f.Add([]byte{}, []byte{}, true)
	f.Fuzz(func(t *testing.T, data, raw []byte, mapOps bool) {
		var d Data
		if len(data) >= DataSize {
			d, _ = ParseData(data)
		}
		raw = raw[:len(raw)/8*8]
		prog, err := DecodeProgram(raw)
		if err != nil {
			t.Fatal(err)
		}
		if mapOps {
			nearValid(prog)
		}
		// Must not panic either way.
		got := Run(prog, &d)
		if Validate(prog) != nil {
			return
		}
		// Determinism, and agreement with a one-filter stack.
		if again := Run(prog, &d); again != got {
			t.Fatalf("Run not deterministic: %#x then %#x", got, again)
		}
		sr, sm := RunStack([]Filter{{Prog: prog}}, &d)
		if int32(got&retActionFull) < int32(retAllow) {
			if sr != got || sm != 0 {
				t.Fatalf("RunStack = %#x, %d; Run = %#x", sr, sm, got)
			}
		} else if sr != retAllow || sm != -1 {
			t.Fatalf("RunStack = %#x, %d for allow-class %#x", sr, sm, got)
		}
	})
}
