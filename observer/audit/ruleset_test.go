// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"golang.org/x/sys/unix"
)

// fixture lays out struct audit_rule_data word by word, independently of
// Rule.Encode: flags, action, field_count, mask[64], fields[64],
// values[64], fieldflags[64], buflen, then buf.
type fixture struct {
	list, action uint32
	syscalls     []int // bits of mask; -1 sets every bit
	fields       [][3]uint32
	buf          string
	buflen       int // -1: len(buf)
	fieldCount   int // -1: len(fields)
}

func (f fixture) bytes() []byte {
	w := make([]uint32, 1+1+1+64+64+64+64+1)
	w[0], w[1] = f.list, f.action
	w[2] = uint32(len(f.fields))
	if f.fieldCount >= 0 {
		w[2] = uint32(f.fieldCount)
	}
	for _, nr := range f.syscalls {
		if nr < 0 {
			for i := 0; i < 64; i++ {
				w[3+i] = 0xffffffff
			}
			continue
		}
		w[3+nr/32] |= 1 << (nr % 32)
	}
	for i, fl := range f.fields {
		w[67+i], w[131+i], w[195+i] = fl[0], fl[1], fl[2]
	}
	w[259] = uint32(len(f.buf))
	if f.buflen >= 0 {
		w[259] = uint32(f.buflen)
	}
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.NativeEndian.PutUint32(b[4*i:], x)
	}
	return append(b, f.buf...)
}

func TestParseFormatMatchRules(t *testing.T) {
	const (
		pid, uid, auid, arch, msgtype, exe, key = 0, 1, 9, 11, 12, 112, 210
		eq, ne, lt, gt, le, ge, and, andEq      = 0x40000000, 0x30000000, 0x10000000, 0x20000000, 0x50000000, 0x60000000, 0x08000000, 0x48000000
	)
	for _, tc := range []struct {
		name          string
		in            fixture
		want          string
		seccomp, conf bool // CanExclude(1326), CanExclude(1305)
	}{
		{"exclude SECCOMP", fixture{list: 5, action: 0, syscalls: []int{-1}, fields: [][3]uint32{{msgtype, 1326, eq}}},
			"-a never,exclude -F msgtype=SECCOMP", true, false},
		{"always,exclude drops too", fixture{list: 5, action: 2, fields: [][3]uint32{{msgtype, 1326, eq}}},
			"-a always,exclude -F msgtype=SECCOMP", true, false},
		{"not SECCOMP", fixture{list: 5, fields: [][3]uint32{{msgtype, 1326, ne}}},
			"-a never,exclude -F msgtype!=SECCOMP", false, true},
		{"range and pid", fixture{list: 5, fields: [][3]uint32{{msgtype, 1300, ge}, {msgtype, 1326, le}, {pid, 42, eq}}},
			"-a never,exclude -F msgtype>=SYSCALL -F msgtype<=SECCOMP -F pid=42", true, true},
		{"below", fixture{list: 5, fields: [][3]uint32{{msgtype, 1326, lt}}},
			"-a never,exclude -F msgtype<SECCOMP", false, true},
		{"above", fixture{list: 5, fields: [][3]uint32{{msgtype, 1305, gt}}},
			"-a never,exclude -F msgtype>CONFIG_CHANGE", true, false},
		{"bit mask", fixture{list: 5, fields: [][3]uint32{{msgtype, 0x2, and}}},
			"-a never,exclude -F msgtype&2", true, false}, // 1326 = 0x52e, 1305 = 0x519
		{"bit test", fixture{list: 5, fields: [][3]uint32{{msgtype, 0x509, andEq}}},
			"-a never,exclude -F msgtype&=1289", false, true},
		{"no msgtype: by auid", fixture{list: 5, fields: [][3]uint32{{auid, 0xffffffff, eq}}},
			"-a never,exclude -F auid=unset", true, true},
		{"no fields never matches", fixture{list: 5},
			"-a never,exclude", false, false},
		{"unknown type number", fixture{list: 5, fields: [][3]uint32{{msgtype, 9999, eq}}},
			"-a never,exclude -F msgtype=9999", false, false},
		{"exe string", fixture{list: 5, fields: [][3]uint32{{exe, 8, eq}, {msgtype, 1326, eq}}, buf: "/bin/foo"},
			"-a never,exclude -F exe=/bin/foo -F msgtype=SECCOMP", true, false},
		{"exit rule with syscalls and key", fixture{list: 4, action: 2, syscalls: []int{unix.SYS_GETPID, unix.SYS_GETPPID},
			fields: [][3]uint32{{arch, sysnames.Native, eq}, {uid, 0, eq}, {key, 3, eq}}, buf: "k-1"},
			"-a always,exit -F arch=b64 -S getpid,getppid -F uid=0 -F key=k-1", false, false},
		{"exit rule, b32 names", fixture{list: 4, action: 2, syscalls: []int{20}, // getpid on i386 and on arm alike
			fields: [][3]uint32{{arch, sysnames.Compat, eq}}},
			"-a always,exit -F arch=b32 -S getpid", false, false},
		{"exit rule, all syscalls, no arch", fixture{list: 4, action: 0, syscalls: []int{-1},
			fields: [][3]uint32{{uid, 1000, ge}}},
			"-a never,exit -S all -F uid>=1000", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.buflen, tc.in.fieldCount = -1, -1
			r, err := ParseRule(tc.in.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := r.CanExclude(TypeSeccomp); got != tc.seccomp {
				t.Errorf("CanExclude(SECCOMP) = %v, want %v", got, tc.seccomp)
			}
			if got := r.CanExclude(TypeConfigChange); got != tc.conf {
				t.Errorf("CanExclude(CONFIG_CHANGE) = %v, want %v", got, tc.conf)
			}
			back, err := ParseRule(r.Encode())
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Errorf("ParseRule(Encode()) = %+v, %v; want %+v", back, err, r)
			}
		})
	}
}

func TestExcludeRules(t *testing.T) {
	rules := []Rule{
		ExcludeMsgTypeRule(TypeSeccomp),
		{List: ListExit, Action: ActionAlways, Fields: []RuleField{{Type: FieldMsgType, Op: OpEqual, Value: 1326}}},
		ExcludeMsgTypeRule(TypeConfigChange),
		{List: ListExclude, Action: ActionNever, Fields: []RuleField{{Type: FieldPid, Op: OpEqual, Value: 1}}},
	}
	if got, want := ExcludeRules(rules, TypeSeccomp), []string{"-a never,exclude -F msgtype=SECCOMP", "-a never,exclude -F pid=1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ExcludeRules(SECCOMP) = %q, want %q", got, want)
	}
	if got, want := ExcludeRules(rules, TypeConfigChange), []string{"-a never,exclude -F msgtype=CONFIG_CHANGE", "-a never,exclude -F pid=1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ExcludeRules(CONFIG_CHANGE) = %q, want %q", got, want)
	}
	if got := ExcludeRules(nil, TypeSeccomp); got != nil {
		t.Errorf("ExcludeRules(nil) = %q", got)
	}
}

func TestParseRuleErrors(t *testing.T) {
	ok := fixture{list: 5, fields: [][3]uint32{{112, 8, 0x40000000}}, buf: "/bin/foo", buflen: -1, fieldCount: -1}
	short := ok
	short.buf = "/bin"
	overlong := ok
	overlong.buflen = 100
	tooMany := ok
	tooMany.fieldCount = 65
	for name, b := range map[string][]byte{
		"truncated":         ok.bytes()[:1039],
		"string past buf":   short.bytes(),
		"buflen past end":   overlong.bytes(),
		"too many fields":   tooMany.bytes(),
		"empty":             nil,
		"strings past data": append(ok.bytes()[:1036], 0, 0, 0, 0),
	} {
		if _, err := ParseRule(b); err == nil || !strings.HasPrefix(err.Error(), "parsing audit rule: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: ParseRule = %v, want a one-line parsing error", name, err)
		}
	}
}

func TestDisabledAtBoot(t *testing.T) {
	for cmdline, want := range map[string]string{
		"BOOT_IMAGE=/vmlinuz root=/dev/sda1 audit=0 quiet": "audit=0",
		"audit=off":             "audit=off",
		"audit=OFF":             "audit=OFF",
		"audit=0 audit=1":       "", // the last one wins
		"audit=1 audit=0":       "audit=0",
		"audit=1":               "",
		"noaudit=0 xaudit=0":    "",
		"audit_backlog_limit=0": "",
		"":                      "",
	} {
		off, param := disabledAtBoot(cmdline)
		if off != (want != "") || (off && param != want) {
			t.Errorf("disabledAtBoot(%q) = %v, %q; want %q", cmdline, off, param, want)
		}
	}
}
