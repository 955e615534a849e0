// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// Filter lists (the flags of struct audit_rule_data).
const (
	ListUser       = 0 // AUDIT_FILTER_USER
	ListTask       = 1 // AUDIT_FILTER_TASK
	ListEntry      = 2 // AUDIT_FILTER_ENTRY (removed from the kernel in 2.6.x, still named)
	ListWatch      = 3 // AUDIT_FILTER_WATCH
	ListExit       = 4 // AUDIT_FILTER_EXIT
	ListExclude    = 5 // AUDIT_FILTER_EXCLUDE (AUDIT_FILTER_TYPE before 4.19)
	ListFilesystem = 6 // AUDIT_FILTER_FS
	ListURingExit  = 7 // AUDIT_FILTER_URING_EXIT
)

// Rule actions.
const (
	ActionNever    = 0 // AUDIT_NEVER
	ActionPossible = 1 // AUDIT_POSSIBLE
	ActionAlways   = 2 // AUDIT_ALWAYS
)

// Comparison operators as userspace encodes them in fieldflags.
const (
	OpBitMask        uint32 = 0x08000000 // AUDIT_BIT_MASK: &
	OpLessThan       uint32 = 0x10000000 // AUDIT_LESS_THAN: <
	OpGreaterThan    uint32 = 0x20000000 // AUDIT_GREATER_THAN: >
	OpNotEqual       uint32 = 0x30000000 // AUDIT_NOT_EQUAL: !=
	OpEqual          uint32 = 0x40000000 // AUDIT_EQUAL: =
	OpBitTest        uint32 = 0x48000000 // AUDIT_BIT_TEST: &=
	OpLessOrEqual    uint32 = 0x50000000 // AUDIT_LESS_THAN_OR_EQUAL: <=
	OpGreaterOrEqual uint32 = 0x60000000 // AUDIT_GREATER_THAN_OR_EQUAL: >=
	opMask           uint32 = 0x78000000 // AUDIT_OPERATORS
)

var opNames = map[uint32]string{
	OpBitMask: "&", OpLessThan: "<", OpGreaterThan: ">", OpNotEqual: "!=",
	OpEqual: "=", OpBitTest: "&=", OpLessOrEqual: "<=", OpGreaterOrEqual: ">=",
}

// Field types (AUDIT_PID ... AUDIT_FILTERKEY) this package names.
const (
	FieldPid      = 0
	FieldUID      = 1
	FieldGID      = 5
	FieldLoginUID = 9 // auid
	FieldArch     = 11
	FieldMsgType  = 12
	FieldExe      = 112
	FieldKey      = 210
)

// fieldNames are auditctl's names for the field types (libaudit's fieldtab).
var fieldNames = map[uint32]string{
	0: "pid", 1: "uid", 2: "euid", 3: "suid", 4: "fsuid", 5: "gid", 6: "egid", 7: "sgid", 8: "fsgid",
	9: "auid", 10: "pers", 11: "arch", 12: "msgtype",
	13: "subj_user", 14: "subj_role", 15: "subj_type", 16: "subj_sen", 17: "subj_clr", 18: "ppid",
	19: "obj_user", 20: "obj_role", 21: "obj_type", 22: "obj_lev_low", 23: "obj_lev_high",
	24: "loginuid_set", 25: "sessionid", 26: "fstype",
	100: "devmajor", 101: "devminor", 102: "inode", 103: "exit", 104: "success", 105: "path", 106: "perm",
	107: "dir", 108: "filetype", 109: "obj_uid", 110: "obj_gid", 111: "field_compare", 112: "exe", 113: "saddr_fam",
	200: "a0", 201: "a1", 202: "a2", 203: "a3", 210: "key",
}

// stringField reports whether the kernel sends the field's value as a
// string in buf (values[i] is then its length): audit_krule_to_data.
func stringField(f uint32) bool {
	switch {
	case f >= 13 && f <= 17, f >= 19 && f <= 23: // subj_*, obj_* (LSM labels)
		return true
	}
	switch f {
	case 105, 107, FieldExe, FieldKey: // path (watch), dir, exe, key
		return true
	}
	return false
}

// idField: values auditctl shows as "unset" when they are (u32)-1.
func idField(f uint32) bool {
	switch f {
	case 1, 2, 3, 4, 5, 6, 7, 8, FieldLoginUID, 109, 110:
		return true
	}
	return false
}

// msgTypeNames are the record type names auditctl prints and accepts
// (libaudit's msg_typetab), for the kernel-generated types.
var msgTypeNames = map[uint32]string{
	1100: "USER_AUTH", 1101: "USER_ACCT", 1102: "USER_MGMT", 1103: "CRED_ACQ", 1104: "CRED_DISP",
	1105: "USER_START", 1106: "USER_END", 1107: "USER_AVC", 1108: "USER_CHAUTHTOK", 1109: "USER_ERR",
	1110: "CRED_REFR", 1111: "USYS_CONFIG", 1112: "USER_LOGIN", 1113: "USER_LOGOUT", 1124: "USER_CMD",
	1130: "SERVICE_START", 1131: "SERVICE_STOP",
	1300: "SYSCALL", 1302: "PATH", 1303: "IPC", 1304: "SOCKETCALL", 1305: "CONFIG_CHANGE", 1306: "SOCKADDR",
	1307: "CWD", 1309: "EXECVE", 1311: "IPC_SET_PERM", 1312: "MQ_OPEN", 1313: "MQ_SENDRECV", 1314: "MQ_NOTIFY",
	1315: "MQ_GETSETATTR", 1316: "KERNEL_OTHER", 1317: "FD_PAIR", 1318: "OBJ_PID", 1319: "TTY", 1320: "EOE",
	1321: "BPRM_FCAPS", 1322: "CAPSET", 1323: "MMAP", 1324: "NETFILTER_PKT", 1325: "NETFILTER_CFG",
	1326: "SECCOMP", 1327: "PROCTITLE", 1328: "FEATURE_CHANGE", 1329: "REPLACE", 1330: "KERN_MODULE",
	1331: "FANOTIFY", 1332: "TIME_INJOFFSET", 1333: "TIME_ADJNTPVAL", 1334: "BPF", 1335: "EVENT_LISTENER",
	1336: "URINGOP", 1337: "OPENAT2", 1338: "DM_CTRL", 1339: "DM_EVENT",
	1400: "AVC", 1401: "SELINUX_ERR", 1402: "AVC_PATH", 1403: "MAC_POLICY_LOAD", 1404: "MAC_STATUS",
	1405: "MAC_CONFIG_CHANGE", 1420: "MAC_UNLBL_ALLOW", 1425: "MAC_TASK_CONTEXTS", 1426: "MAC_OBJ_CONTEXTS",
	1700: "ANOM_PROMISCUOUS", 1701: "ANOM_ABEND", 1702: "ANOM_LINK", 1703: "ANOM_CREAT",
	1800: "INTEGRITY_DATA", 1801: "INTEGRITY_METADATA", 1802: "INTEGRITY_STATUS", 1803: "INTEGRITY_HASH",
	1804: "INTEGRITY_PCR", 1805: "INTEGRITY_RULE", 1806: "INTEGRITY_EVM_XATTR", 1807: "INTEGRITY_POLICY_RULE",
	2000: "KERNEL",
}

var (
	listNames   = map[uint32]string{0: "user", 1: "task", 2: "entry", 3: "watch", 4: "exit", 5: "exclude", 6: "filesystem", 7: "io_uring"}
	actionNames = map[uint32]string{ActionNever: "never", ActionPossible: "possible", ActionAlways: "always"}
)

// RuleField is one "-F name<op>value" of a rule.
type RuleField struct {
	Type  uint32 // AUDIT_PID, AUDIT_MSGTYPE, ...
	Op    uint32 // Op* (fieldflags)
	Value uint32 // the number; for string fields the string's length
	Str   string // the value of a string field (path, exe, key, LSM labels)
}

// Rule is one struct audit_rule_data as AUDIT_LIST_RULES returns it.
type Rule struct {
	List   uint32 // List* (the struct's flags)
	Action uint32 // Action*
	// Mask is the syscall bitmap (AUDIT_BITMASK_SIZE words).
	Mask   [auditBitmaskLen]uint32
	Fields []RuleField
}

// ruleFixedLen is the size of struct audit_rule_data up to buf:
// flags, action, field_count, mask[64], fields[64], values[64], fieldflags[64], buflen.
const ruleFixedLen = 4 * (3 + auditBitmaskLen + 3*auditMaxFields + 1)

// Encode lays r out as struct audit_rule_data (AUDIT_ADD_RULE's payload).
func (r Rule) Encode() []byte {
	var buf []byte
	words := make([]uint32, ruleFixedLen/4)
	words[0], words[1], words[2] = r.List, r.Action, uint32(len(r.Fields))
	copy(words[3:], r.Mask[:])
	fields := 3 + auditBitmaskLen
	for i, f := range r.Fields {
		words[fields+i] = f.Type
		words[fields+auditMaxFields+i] = f.Value
		words[fields+2*auditMaxFields+i] = f.Op
		if stringField(f.Type) {
			words[fields+auditMaxFields+i] = uint32(len(f.Str))
			buf = append(buf, f.Str...)
		}
	}
	words[fields+3*auditMaxFields] = uint32(len(buf))
	b := make([]byte, ruleFixedLen, ruleFixedLen+len(buf))
	for i, w := range words {
		binary.NativeEndian.PutUint32(b[4*i:], w)
	}
	return append(b, buf...)
}

// ParseRule decodes one struct audit_rule_data.
func ParseRule(b []byte) (Rule, error) {
	var r Rule
	if len(b) < ruleFixedLen {
		return r, fmt.Errorf("parsing audit rule: %d bytes, want at least %d", len(b), ruleFixedLen)
	}
	word := func(i int) uint32 { return binary.NativeEndian.Uint32(b[4*i:]) }
	r.List, r.Action = word(0), word(1)
	n := int(word(2))
	if n > auditMaxFields {
		return r, fmt.Errorf("parsing audit rule: %d fields, at most %d", n, auditMaxFields)
	}
	for i := range r.Mask {
		r.Mask[i] = word(3 + i)
	}
	fields := 3 + auditBitmaskLen
	buflen := int(word(fields + 3*auditMaxFields))
	buf := b[ruleFixedLen:]
	if buflen > len(buf) {
		return r, fmt.Errorf("parsing audit rule: buflen %d but %d bytes follow", buflen, len(buf))
	}
	buf = buf[:buflen]
	for i := 0; i < n; i++ {
		f := RuleField{
			Type:  word(fields + i),
			Value: word(fields + auditMaxFields + i),
			Op:    word(fields+2*auditMaxFields+i) & opMask,
		}
		if stringField(f.Type) {
			if int(f.Value) > len(buf) {
				return r, fmt.Errorf("parsing audit rule: field %d (%s) has a %d-byte string, %d bytes left", i, fieldName(f.Type), f.Value, len(buf))
			}
			f.Str, buf = string(buf[:f.Value]), buf[f.Value:]
		}
		r.Fields = append(r.Fields, f)
	}
	return r, nil
}

func fieldName(t uint32) string {
	if n, ok := fieldNames[t]; ok {
		return n
	}
	return "field" + strconv.FormatUint(uint64(t), 10)
}

// MsgTypeName returns auditctl's name for a record type, or its number.
func MsgTypeName(t uint32) string {
	if n, ok := msgTypeNames[t]; ok {
		return n
	}
	return strconv.FormatUint(uint64(t), 10)
}

func (f RuleField) value() string {
	switch {
	case stringField(f.Type):
		return f.Str
	case f.Type == FieldMsgType:
		return MsgTypeName(f.Value)
	case f.Type == FieldArch:
		// auditctl's b64/b32 are this machine's native and compat arches.
		switch f.Value {
		case sysnames.Native:
			return "b64"
		case sysnames.Compat:
			return "b32"
		}
		return fmt.Sprintf("0x%x", f.Value)
	case idField(f.Type) && f.Value == ^uint32(0):
		return "unset"
	case f.Type == 103: // exit: a signed return value
		return strconv.Itoa(int(int32(f.Value)))
	}
	return strconv.FormatUint(uint64(f.Value), 10)
}

// String formats r as `auditctl -l` does, e.g.
// "-a never,exclude -F msgtype=SECCOMP" or
// "-a always,exit -F arch=b64 -S getpid,getppid".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("-a ")
	b.WriteString(nameOr(actionNames, r.Action, "action"))
	b.WriteByte(',')
	b.WriteString(nameOr(listNames, r.List, "list"))
	syscalls := ""
	if r.List == ListExit || r.List == ListEntry || r.List == ListURingExit {
		syscalls = r.syscalls()
	}
	hasArch := false
	for _, f := range r.Fields {
		hasArch = hasArch || f.Type == FieldArch
	}
	wroteSyscalls := false
	if !hasArch && syscalls != "" {
		b.WriteString(syscalls)
		wroteSyscalls = true
	}
	for _, f := range r.Fields {
		b.WriteString(" -F ")
		b.WriteString(fieldName(f.Type))
		b.WriteString(nameOr(opNames, f.Op, "op"))
		b.WriteString(f.value())
		if f.Type == FieldArch && !wroteSyscalls && syscalls != "" {
			b.WriteString(syscalls)
			wroteSyscalls = true
		}
	}
	return b.String()
}

func nameOr(m map[uint32]string, v uint32, what string) string {
	if n, ok := m[v]; ok {
		return n
	}
	return fmt.Sprintf("%s%#x", what, v)
}

// syscalls formats the mask as " -S all" or " -S name,name", in the
// names of the rule's arch.
func (r Rule) syscalls() string {
	all, none := true, true
	for _, w := range r.Mask {
		all = all && w == ^uint32(0)
		none = none && w == 0
	}
	switch {
	case all:
		return " -S all"
	case none:
		return ""
	}
	arch := sysnames.Native
	for _, f := range r.Fields {
		if f.Type == FieldArch && f.Op == OpEqual {
			arch = f.Value
		}
	}
	var names []string
	for nr := 0; nr < 32*auditBitmaskLen; nr++ {
		if r.Mask[nr/32]&(1<<(nr%32)) != 0 {
			names = append(names, sysnames.Name(arch, int32(nr)))
		}
	}
	return " -S " + strings.Join(names, ",")
}

// comparator is the kernel's audit_comparator for op (kernel/auditfilter.c).
func comparator(left, op, right uint32) bool {
	switch op {
	case OpEqual:
		return left == right
	case OpNotEqual:
		return left != right
	case OpLessThan:
		return left < right
	case OpLessOrEqual:
		return left <= right
	case OpGreaterThan:
		return left > right
	case OpGreaterOrEqual:
		return left >= right
	case OpBitMask:
		return left&right != 0
	case OpBitTest:
		return left&right == right
	}
	return false
}

// CanExclude reports whether r is an exclude-list rule that can drop
// records of type msgType: audit_filter(type, AUDIT_FILTER_EXCLUDE) drops a
// record when every field of a rule matches, whatever the rule's action
// (never or always). A msgtype field decides for the type; other fields
// (pid, uid, auid, LSM labels, exe) depend on the task writing the record,
// so the rule can match some task. A rule without fields never matches
// (the kernel's result stays 0).
func (r Rule) CanExclude(msgType uint16) bool {
	if r.List != ListExclude || len(r.Fields) == 0 {
		return false
	}
	for _, f := range r.Fields {
		if f.Type == FieldMsgType && !comparator(uint32(msgType), f.Op, f.Value) {
			return false
		}
	}
	return true
}

// ExcludeRules returns the rules of rules that can drop records of type
// msgType (TypeSeccomp, TypeConfigChange), formatted as auditctl -l does.
func ExcludeRules(rules []Rule, msgType uint16) []string {
	var out []string
	for _, r := range rules {
		if r.CanExclude(msgType) {
			out = append(out, r.String())
		}
	}
	return out
}

const auditListRules = 1013 // AUDIT_LIST_RULES

// ListRules returns the kernel's audit rules (auditctl -l), over
// AUDIT_LIST_RULES. It needs CAP_AUDIT_CONTROL and the initial pid namespace.
func ListRules() ([]Rule, error) {
	bodies, err := requestDump(auditListRules)
	if err != nil {
		return nil, fmt.Errorf("listing audit rules: %w", err)
	}
	rules := make([]Rule, 0, len(bodies))
	for _, b := range bodies {
		r, err := ParseRule(b)
		if err != nil {
			return nil, fmt.Errorf("listing audit rules: %w", err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
