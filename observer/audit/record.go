// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Record types this package gives typed views of (include/uapi/linux/audit.h).
const (
	TypeConfigChange uint16 = 1305 // AUDIT_CONFIG_CHANGE
	TypeSeccomp      uint16 = 1326 // AUDIT_SECCOMP
)

// ErrMalformed is wrapped by every error ParseRecord returns.
var ErrMalformed = errors.New("malformed audit record")

// Stamp is the "audit(SEC.MSEC:SERIAL): " prefix of every kernel record:
// the time the record was started and its event serial (docs/kernel-semantics.md
// §5.2). `ausearch -a SERIAL` finds the event.
type Stamp struct {
	Sec    int64
	Msec   uint32 // 0-999
	Serial uint32
}

// Time returns the stamp's wall-clock time.
func (s Stamp) Time() time.Time {
	return time.Unix(s.Sec, int64(s.Msec)*int64(time.Millisecond))
}

// String formats s as the kernel does: "SEC.MSEC:SERIAL".
func (s Stamp) String() string { return fmt.Sprintf("%d.%03d:%d", s.Sec, s.Msec, s.Serial) }

// Encoding says how a field's value was written.
type Encoding uint8

const (
	// EncBare: the value up to the next space (numbers, subj=, ...).
	EncBare Encoding = iota
	// EncQuoted: "..." (an untrusted string without unsafe characters) or
	// '...' (the msg= of user records).
	EncQuoted
	// EncHex: an untrusted string the kernel hex-encoded because it holds
	// a '"', a space, a control character or a byte above 0x7e.
	EncHex
	// EncNull: the literal (null), e.g. exe=(null) for a task with no mm.
	EncNull
	// EncWord: a token without '=' (AVC records have them); Key is "".
	EncWord
)

func (e Encoding) String() string {
	switch e {
	case EncBare:
		return "bare"
	case EncQuoted:
		return "quoted"
	case EncHex:
		return "hex"
	case EncNull:
		return "null"
	case EncWord:
		return "word"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// Field is one key=value of a record, in record order.
type Field struct {
	Key string
	// Value is decoded: quotes removed, hex decoded; "" for EncNull.
	Value string
	// Raw is the value as the record spells it.
	Raw string
	Enc Encoding
}

// Record is one audit record as the kernel sent it.
type Record struct {
	Type   uint16
	Stamp  Stamp
	Fields []Field
	// Raw is the body after the stamp's ": ".
	Raw string

	// Seccomp is set for a well-formed type 1326 record.
	Seccomp *Seccomp
	// ConfigChange is set for a well-formed type 1305 record.
	ConfigChange *ConfigChange
}

// Get returns the decoded value of the first field named key.
func (r *Record) Get(key string) (string, bool) {
	if f, ok := r.Field(key); ok {
		return f.Value, true
	}
	return "", false
}

// Field returns the first field named key.
func (r *Record) Field(key string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Key == key && f.Enc != EncWord {
			return f, true
		}
	}
	return Field{}, false
}

// untrusted lists the fields the kernel writes with audit_log_untrustedstring
// or audit_log_n_untrustedstring: quoted when safe, hex otherwise.
var untrusted = map[string]bool{
	"comm": true, "exe": true, "name": true, "path": true, "cwd": true,
	"key": true, "acct": true, "cmd": true, "proctitle": true,
	"watch": true, "dir": true, "ocomm": true, "root_dir": true,
}

// lsmContext lists fields whose bare value may hold spaces: an LSM context
// (AppArmor writes "profile (enforce)"). Their value runs to the next
// " word=".
var lsmContext = map[string]bool{"subj": true, "obj": true, "scontext": true, "tcontext": true}

// ParseRecord parses the body of an audit netlink message of type typ:
// the stamp and every field. For types 1326 and 1305 it also fills the
// typed view, and fails when the record does not have the kernel's shape;
// the returned Record then still holds the stamp and fields that parsed,
// so a caller can report it rather than drop it. Trailing NULs and
// newlines are ignored.
func ParseRecord(typ uint16, body []byte) (Record, error) {
	s := strings.TrimRight(string(body), "\x00\n")
	rec := Record{Type: typ, Raw: s}
	stamp, rest, err := parseStamp(s)
	if err != nil {
		return rec, err
	}
	rec.Stamp, rec.Raw = stamp, rest
	rec.Fields, err = parseFields(rest)
	if err != nil {
		return rec, err
	}
	switch typ {
	case TypeSeccomp:
		sc, err := seccompOf(&rec)
		if err != nil {
			return rec, err
		}
		rec.Seccomp = &sc
	case TypeConfigChange:
		// Only the seccomp-logging op has a typed view; other CONFIG_CHANGE
		// records (rule changes, lost resets) stay generic.
		if op, _ := rec.Get("op"); op == "seccomp-logging" {
			cc, err := configChangeOf(&rec)
			if err != nil {
				return rec, err
			}
			rec.ConfigChange = &cc
		}
	}
	return rec, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parseStamp splits "audit(SEC.MSEC:SERIAL): rest".
func parseStamp(s string) (Stamp, string, error) {
	var st Stamp
	body, ok := strings.CutPrefix(s, "audit(")
	if !ok {
		return st, s, malformed("no audit( stamp in %.40q", s)
	}
	inner, rest, ok := strings.Cut(body, ")")
	if !ok {
		return st, s, malformed("unterminated stamp in %.40q", s)
	}
	rest, ok = strings.CutPrefix(rest, ":")
	if !ok {
		return st, s, malformed("no ':' after the stamp in %.40q", s)
	}
	// The kernel writes ": " then the first field; an empty record (EOE)
	// ends after the ": " or even the ':'.
	rest = strings.TrimPrefix(rest, " ")
	tm, serial, ok := strings.Cut(inner, ":")
	if !ok {
		return st, s, malformed("no serial in stamp %q", inner)
	}
	sec, msec, ok := strings.Cut(tm, ".")
	if !ok || len(msec) != 3 {
		return st, s, malformed("bad time in stamp %q", inner)
	}
	var err error
	if st.Sec, err = parseDec[int64](sec, 63); err != nil {
		return st, s, malformed("bad seconds in stamp %q", inner)
	}
	m, err := strconv.ParseUint(msec, 10, 32) // %03lu: leading zeros
	if msec[0] < '0' || msec[0] > '9' {
		err = strconv.ErrSyntax
	}
	if err != nil || m > 999 {
		return st, s, malformed("bad milliseconds in stamp %q", inner)
	}
	st.Msec = uint32(m)
	if st.Serial, err = parseDec[uint32](serial, 32); err != nil {
		return st, s, malformed("bad serial in stamp %q", inner)
	}
	return st, rest, nil
}

// parseDec parses what %u/%llu print: decimal digits only, no sign, no
// leading zero.
func parseDec[T int64 | uint32 | uint64](s string, bits int) (T, error) {
	if s == "" || s[0] < '0' || s[0] > '9' || (s[0] == '0' && len(s) > 1) {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return T(v), err
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// nextKeyAt reports whether s[i:] starts with "word=".
func nextKeyAt(s string, i int) bool {
	j := i
	for j < len(s) && isKeyByte(s[j]) {
		j++
	}
	return j > i && j < len(s) && s[j] == '='
}

// parseFields splits "k=v k="v" k=HEX word ..." as auparse does: the
// leading character of a value decides between quoted and bare.
func parseFields(s string) ([]Field, error) {
	var fields []Field
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return fields, nil
		}
		start := i
		for i < len(s) && isKeyByte(s[i]) {
			i++
		}
		if i == start || i >= len(s) || s[i] != '=' {
			// A word without '=' (AVC: "avc:  denied  { read } for").
			i = start
			for i < len(s) && s[i] != ' ' {
				i++
			}
			fields = append(fields, Field{Value: s[start:i], Raw: s[start:i], Enc: EncWord})
			continue
		}
		key := s[start:i]
		i++ // '='
		vstart := i
		f := Field{Key: key}
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return fields, malformed("unterminated quote in %s=", key)
			}
			i += end + 2
			f.Raw, f.Value, f.Enc = s[vstart:i], s[vstart+1:i-1], EncQuoted
			if i < len(s) && s[i] != ' ' {
				return fields, malformed("junk after the quoted value of %s=", key)
			}
		} else {
			for i < len(s) && s[i] != ' ' {
				i++
			}
			if lsmContext[key] {
				for i < len(s) && !nextKeyAt(s, i+1) {
					i++
					for i < len(s) && s[i] != ' ' {
						i++
					}
				}
			}
			f.Raw = s[vstart:i]
			f.Value, f.Enc = f.Raw, EncBare
			switch {
			case f.Raw == "(null)":
				f.Value, f.Enc = "", EncNull
			case untrusted[key] && isHex(f.Raw):
				b, _ := hex.DecodeString(f.Raw)
				f.Value, f.Enc = string(b), EncHex
			}
		}
		fields = append(fields, f)
	}
}

// isHex reports whether s is a non-empty even-length hex string, as
// audit_log_n_hex writes it (upper case; lower case accepted).
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Seccomp is an AUDIT_SECCOMP (1326) record (docs/kernel-semantics.md §5.2):
//
//	auid=%u uid=%u gid=%u ses=%u [subj=%s] pid=%d comm=<untrusted> exe=<path>|(null)
//	sig=%ld arch=%x syscall=%ld compat=%d ip=0x%lx code=0x%x
type Seccomp struct {
	Stamp Stamp
	AUID  uint32 // 4294967295 when unset
	UID   uint32 // real uid in init_user_ns
	GID   uint32
	Ses   uint32 // 4294967295 when unset
	// Subj is the LSM subject context ("?" with several context LSMs, 6.18+);
	// HasSubj is false when the record has no subj= field.
	Subj    string
	HasSubj bool
	Pid     int32 // tgid in the init pid namespace
	Comm    string
	Exe     string // "" when ExeNull
	ExeNull bool   // exe=(null): the task has no mm or no exe file
	Sig     int64
	Arch    uint32 // AUDIT_ARCH_*, e.g. 0xc000003e
	Syscall int64  // signed: -1 after a tracer skipped the syscall
	Compat  bool
	IP      uint64
	// Code is the seccomp action (SECCOMP_RET_ACTION_FULL bits of the
	// filter's return value; the data bits are not logged).
	Code uint32
}

func seccompOf(r *Record) (Seccomp, error) {
	sc := Seccomp{Stamp: r.Stamp}
	get := func(key string) (Field, error) {
		f, ok := r.Field(key)
		if !ok {
			return f, malformed("SECCOMP record without %s=", key)
		}
		return f, nil
	}
	var errs []error
	num := func(key string, base, bits int, signed bool) uint64 {
		f, err := get(key)
		if err != nil {
			errs = append(errs, err)
			return 0
		}
		s := f.Raw
		if base == 16 {
			s = strings.TrimPrefix(s, "0x")
		}
		if f.Enc != EncBare || s == "" || s[0] == '+' || (!signed && s[0] == '-') {
			errs = append(errs, malformed("SECCOMP %s=%s is not a number", key, f.Raw))
			return 0
		}
		if signed {
			v, err := strconv.ParseInt(s, base, bits)
			if err != nil {
				errs = append(errs, malformed("SECCOMP %s=%s: %v", key, f.Raw, err))
			}
			return uint64(v)
		}
		v, err := strconv.ParseUint(s, base, bits)
		if err != nil {
			errs = append(errs, malformed("SECCOMP %s=%s: %v", key, f.Raw, err))
		}
		return v
	}
	sc.AUID = uint32(num("auid", 10, 32, false))
	sc.UID = uint32(num("uid", 10, 32, false))
	sc.GID = uint32(num("gid", 10, 32, false))
	sc.Ses = uint32(num("ses", 10, 32, false))
	if f, ok := r.Field("subj"); ok {
		sc.Subj, sc.HasSubj = f.Value, true
	}
	sc.Pid = int32(num("pid", 10, 32, true))
	if f, err := get("comm"); err != nil {
		errs = append(errs, err)
	} else if f.Enc != EncQuoted && f.Enc != EncHex {
		// comm is never (null): it is always a quoted or hex string.
		errs = append(errs, malformed("SECCOMP comm=%s is neither quoted nor hex", f.Raw))
	} else {
		sc.Comm = f.Value
	}
	if f, err := get("exe"); err != nil {
		errs = append(errs, err)
	} else {
		// Bare values other than (null) are d_path failures: "<too_long>", "<no_memory>".
		sc.Exe, sc.ExeNull = f.Value, f.Enc == EncNull
	}
	sc.Sig = int64(num("sig", 10, 64, true))
	sc.Arch = uint32(num("arch", 16, 32, false))
	sc.Syscall = int64(num("syscall", 10, 64, true))
	switch c := num("compat", 10, 32, false); c {
	case 0, 1:
		sc.Compat = c == 1
	default:
		errs = append(errs, malformed("SECCOMP compat=%d is not 0 or 1", c))
	}
	if f, ok := r.Field("ip"); ok && !strings.HasPrefix(f.Raw, "0x") {
		errs = append(errs, malformed("SECCOMP ip=%s has no 0x", f.Raw))
	}
	sc.IP = num("ip", 16, 64, false)
	if f, ok := r.Field("code"); ok && !strings.HasPrefix(f.Raw, "0x") {
		errs = append(errs, malformed("SECCOMP code=%s has no 0x", f.Raw))
	}
	sc.Code = uint32(num("code", 16, 32, false))
	return sc, errors.Join(errs...)
}

// ConfigChange is the CONFIG_CHANGE (1305) record the kernel writes for
// every write attempt to kernel.seccomp.actions_logged (4.18+,
// docs/kernel-semantics.md §5.3): "op=seccomp-logging actions=%s old-actions=%s res=%d".
type ConfigChange struct {
	Stamp      Stamp
	Op         string // "seccomp-logging"
	Actions    string // as written: names joined with ',', "(none)" or "?"
	OldActions string
	Res        int // 1 success, 0 failure
}

func configChangeOf(r *Record) (ConfigChange, error) {
	cc := ConfigChange{Stamp: r.Stamp}
	var errs []error
	bare := func(key string) string {
		f, ok := r.Field(key)
		if !ok {
			errs = append(errs, malformed("CONFIG_CHANGE seccomp-logging record without %s=", key))
			return ""
		}
		if f.Enc != EncBare {
			errs = append(errs, malformed("CONFIG_CHANGE %s=%s is not a bare value", key, f.Raw))
		}
		return f.Raw
	}
	cc.Op = bare("op")
	cc.Actions = bare("actions")
	cc.OldActions = bare("old-actions")
	switch res := bare("res"); res {
	case "0", "1":
		cc.Res = int(res[0] - '0')
	case "":
	default:
		errs = append(errs, malformed("CONFIG_CHANGE res=%s is not 0 or 1", res))
	}
	return cc, errors.Join(errs...)
}

// ActionList is a parsed actions= or old-actions= value.
type ActionList struct {
	// Set holds the named actions; empty for "(none)" and "?".
	Set policy.ActionSet
	// Failed is true for "?": the write failed (actions=) or the kernel
	// could not format the set.
	Failed bool
	// Canonical says the value is spelled exactly as the kernel formats
	// Set: names once each, in table order, joined with ','; "(none)" for
	// the empty set. A non-canonical value is a kernel bug worth reporting.
	Canonical bool
}

// ParseActionList parses an actions= or old-actions= value: a
// comma-separated list of actions_logged names, "(none)" or "?".
// Any order and repeats parse (Canonical tells); unknown names and empty
// items are errors. "allow" is accepted, since a failed write never names
// it and a record that did is better reported than rejected.
func ParseActionList(s string) (ActionList, error) {
	switch s {
	case "?":
		return ActionList{Failed: true, Canonical: true}, nil
	case "(none)":
		return ActionList{Canonical: true}, nil
	case "":
		return ActionList{}, malformed("empty action list")
	}
	var l ActionList
	for name := range strings.SplitSeq(s, ",") {
		set, err := policy.ParseActionsLoggedRead(name)
		if err != nil || name == "" || strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t\n") {
			return ActionList{}, malformed("bad action name %q in %q", name, s)
		}
		l.Set |= set
	}
	l.Canonical = l.Set.AuditString() == s
	return l, nil
}
