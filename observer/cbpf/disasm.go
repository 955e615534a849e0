// SPDX-License-Identifier: Apache-2.0

package cbpf

import "fmt"

// Disasm returns one line per instruction in the style of `tcpdump -d`,
// with jump targets as absolute instruction numbers and loads from
// seccomp_data named in a comment:
//
//	(000) ld       [4]                  ; arch
//	(001) jeq      #0xc000003e      jt 2    jf 5
//	(005) ret      #0x7fff0000          ; allow
//
// retName, when not nil, names a RET K's value in a comment. Opcodes the
// kernel refuses are printed as ".word".
func Disasm(prog []Instruction, retName func(uint32) string) []string {
	out := make([]string, len(prog))
	for pc, ins := range prog {
		op, arg, comment := disasmOne(pc, ins, retName)
		line := fmt.Sprintf("(%03d) %-8s %s", pc, op, arg)
		if comment != "" {
			line = fmt.Sprintf("%-36s ; %s", line, comment)
		}
		out[pc] = line
	}
	return out
}

// DataField names the seccomp_data word at byte offset off: "nr", "arch",
// "ip.lo", "args[2].hi", or "" for an offset a filter cannot load.
func DataField(off uint32) string {
	switch {
	case off == OffNr:
		return "nr"
	case off == OffArch:
		return "arch"
	case off == OffIPLo:
		return "ip.lo"
	case off == OffIPLo+4:
		return "ip.hi"
	case off >= OffArgs && off < DataSize && off%4 == 0:
		half := "lo"
		if (off-OffArgs)%8 == 4 {
			half = "hi"
		}
		return fmt.Sprintf("args[%d].%s", (off-OffArgs)/8, half)
	}
	return ""
}

var aluNames = map[uint16]string{
	OpADD: "add", OpSUB: "sub", OpMUL: "mul", OpDIV: "div", OpOR: "or", OpAND: "and",
	OpLSH: "lsh", OpRSH: "rsh", OpNEG: "neg", OpMOD: "mod", OpXOR: "xor",
}

var jumpNames = map[uint16]string{OpJEQ: "jeq", OpJGT: "jgt", OpJGE: "jge", OpJSET: "jset"}

func disasmOne(pc int, ins Instruction, retName func(uint32) string) (op, arg, comment string) {
	k := ins.K
	switch ins.Code {
	case opLdAbsW:
		return "ld", fmt.Sprintf("[%d]", k), DataField(k)
	case opLdAbsH, opLdAbsB, opLdIndW, opLdIndH, opLdIndB, opLdxMshB:
		return ".word", fmt.Sprintf("%#04x %d %d %#x", ins.Code, ins.Jt, ins.Jf, k), "packet load: not allowed in seccomp"
	case opLdLenW:
		return "ld", "#len", "sizeof(seccomp_data) = 64"
	case opLdxLenW:
		return "ldx", "#len", "sizeof(seccomp_data) = 64"
	case opLdImm:
		return "ld", fmt.Sprintf("#%#x", k), ""
	case opLdxImm:
		return "ldx", fmt.Sprintf("#%#x", k), ""
	case opLdMem:
		return "ld", fmt.Sprintf("M[%d]", k), ""
	case opLdxMem:
		return "ldx", fmt.Sprintf("M[%d]", k), ""
	case opSt:
		return "st", fmt.Sprintf("M[%d]", k), ""
	case opStx:
		return "stx", fmt.Sprintf("M[%d]", k), ""
	case opTax:
		return "tax", "", ""
	case opTxa:
		return "txa", "", ""
	case opRetA:
		return "ret", "a", ""
	case opRetK:
		name := ""
		if retName != nil {
			name = retName(k)
		}
		return "ret", fmt.Sprintf("#%#x", k), name
	case opJa:
		return "ja", fmt.Sprintf("%d", pc+1+int(k)), ""
	}
	switch ins.Code & 0x07 {
	case ClassALU:
		name, ok := aluNames[ins.Code&0xf0]
		if !ok || ins.Code&^(0xf0|SrcX|0x07) != 0 {
			break
		}
		if ins.Code&0xf0 == OpNEG {
			return name, "", ""
		}
		if ins.Code&SrcX != 0 {
			return name, "x", ""
		}
		return name, fmt.Sprintf("#%#x", k), ""
	case ClassJMP:
		name, ok := jumpNames[ins.Code&0xf0]
		if !ok || ins.Code&^(0xf0|SrcX|0x07) != 0 {
			break
		}
		src := fmt.Sprintf("#%#x", k)
		if ins.Code&SrcX != 0 {
			src = "x"
		}
		return name, fmt.Sprintf("%-16s jt %-4d jf %d", src, pc+1+int(ins.Jt), pc+1+int(ins.Jf)), ""
	}
	return ".word", fmt.Sprintf("%#04x %d %d %#x", ins.Code, ins.Jt, ins.Jf, k), "unknown opcode"
}
